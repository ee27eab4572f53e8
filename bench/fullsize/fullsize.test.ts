import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  browserPidFor,
  chromiumRole,
  descendants,
  parseCmdline,
  parsePpid,
  parseRssBytes,
  readProcTable,
  rssByRole,
} from './procMemory';
import type { ProcEntry } from './procMemory';
import { assembleLoadRun, compareStep, downloadedFiles, markdownTable } from './report';
import type { LoadMeasurements } from './report';
import { resolveRequest } from './server';

const STATUS = `Name:\tchromium\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\nPPid:\t4200\nVmPeak:\t 9000000 kB\nVmHWM:\t  500000 kB\nVmRSS:\t  312348 kB\nThreads:\t12\n`;

describe('/proc parsing', () => {
  it('reads VmRSS (not VmHWM or VmPeak) and PPid in bytes', () => {
    expect(parseRssBytes(STATUS)).toBe(312348 * 1024);
    expect(parsePpid(STATUS)).toBe(4200);
    expect(parseRssBytes('Name:\tkthreadd\nPPid:\t0\n')).toBeNull();
  });

  it('joins NUL-separated argv and finds the Chromium role', () => {
    const cmd = parseCmdline('/usr/lib/chromium/chromium\0--type=renderer\0--user-data-dir=/tmp/p\0');
    expect(cmd).toBe('/usr/lib/chromium/chromium --type=renderer --user-data-dir=/tmp/p');
    expect(chromiumRole(cmd)).toBe('renderer');
    expect(chromiumRole('chromium --type=gpu-process --foo')).toBe('gpu-process');
    expect(
      chromiumRole('chromium --type=utility --utility-sub-type=network.mojom.NetworkService'),
    ).toBeNull();
    expect(chromiumRole('chromium --type=rendererx')).toBeNull();
  });

  const table: ProcEntry[] = [
    { pid: 10, ppid: 1, cmdline: 'chromium --user-data-dir=/tmp/a --headless=new', rssBytes: 100 },
    { pid: 11, ppid: 10, cmdline: 'chromium --type=zygote', rssBytes: 5 },
    { pid: 12, ppid: 11, cmdline: 'chromium --type=renderer', rssBytes: 1000 },
    { pid: 13, ppid: 11, cmdline: 'chromium --type=renderer', rssBytes: 30 },
    { pid: 14, ppid: 10, cmdline: 'chromium --type=gpu-process', rssBytes: 700 },
    { pid: 20, ppid: 1, cmdline: 'chromium --user-data-dir=/tmp/b', rssBytes: 100 },
    { pid: 21, ppid: 20, cmdline: 'chromium --type=renderer', rssBytes: 99999 },
  ];

  it("sums each role over the browser's descendants only (through the zygote, not another browser's)", () => {
    expect(
      descendants(table, 10)
        .map((p) => p.pid)
        .sort(),
    ).toEqual([11, 12, 13, 14]);
    expect(rssByRole(table, 10)).toEqual({ renderer: 1030, 'gpu-process': 700 });
    expect(browserPidFor(table, '/tmp/a')).toBe(10);
    expect(browserPidFor(table, '/tmp/c')).toBeNull();
  });

  it("reads this machine's live table, with this process in it", () => {
    const me = readProcTable().find((p) => p.pid === process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.rssBytes).toBeGreaterThan(1 << 20);
  });
});

describe('report', () => {
  const load = {
    ok: true,
    error: null,
    ms: 1234.4,
    build: 'jspi' as const,
    memory: 'all' as const,
    sessionsMs: 900,
    backend: 'webgpu' as const,
    wasmHeapBytes: 64 << 20,
    jsHeapBytes: 10 << 20,
    jsHeapNote: null,
  };
  const m: LoadMeasurements = {
    package: 'reduced',
    dtype: 'q4',
    resolution: 512,
    backend: 'webgpu',
    packageBytes: 1e9,
    maxBufferBytes: 100 << 20,
    first: load,
    firstPeak: { renderer: 2e9, gpu: 1e9, together: 2.5e9 },
    reload: { ...load, ms: 600 },
    reloadPeak: { together: 2e9 },
    reloadDownloaded: [],
    reloadStore: { files: 5, stored: 5, marked: 5 },
    graphs: {
      transformer_step: { created: true, cpuNodes: ['Shape (a)'], error: null, ms: 1 },
      text_llm: { created: false, cpuNodes: null, error: 'oom', ms: 1 },
    },
  };

  it('keeps the requested fields and counts a reload that fetched a file as failed', () => {
    const run = assembleLoadRun(m);
    expect(run).toMatchObject({
      dtype: 'q4',
      resolution: 512,
      backend: 'webgpu',
      load_ms: 1234,
      peak_renderer_bytes: 2e9,
      peak_gpu_process_bytes: 1e9,
      wasm_heap_bytes: 64 << 20,
      js_heap_bytes: 10 << 20,
      reload_ok: true,
      graphs: {
        transformer_step: { created: true, cpu_nodes: ['Shape (a)'], error: null },
        text_llm: { created: false, cpu_nodes: null, error: 'oom' },
      },
    });
    const again = assembleLoadRun({ ...m, reloadDownloaded: ['q4/transformer_step.onnx'] });
    expect(again.reload_ok).toBe(false);
    expect(again.reload_error).toContain('q4/transformer_step.onnx');
    expect(
      assembleLoadRun({ ...m, reload: { ...load, ok: false, error: 'NotReadableError' } }).reload_error,
    ).toBe('NotReadableError');
  });

  it('lists package files fetched, leaving out the manifest, other paths and failed requests', () => {
    const log = [
      { path: '/packages/reduced/manifest.json', status: 200, bytes: 10 },
      { path: '/packages/reduced/q4/text_llm.onnx', status: 200, bytes: 10 },
      { path: '/packages/reduced/q4/missing.onnx', status: 404, bytes: 0 },
      { path: '/assets/app.js', status: 200, bytes: 10 },
    ];
    expect(downloadedFiles(log, '/packages/reduced/')).toEqual(['q4/text_llm.onnx']);
  });

  it('compares probabilities by max abs difference and ids by share equal', () => {
    const browser = {
      ok: true,
      error: null,
      ms: 1,
      outputs: { drawn_probs: [0.5, 0.25], ref_probs: [0.1, 0.2], drawn_ids: [1, 2, 3, 4] },
    };
    const r = compareStep(browser, {
      drawn_probs: [0.5, 0.2],
      ref_probs: [0.1, 0.2],
      drawn_ids: [1, 2, 3, 5],
    });
    expect(r.maxAbsDiff).toBeCloseTo(0.05, 12);
    expect(r.idAgreement).toBe(0.75);
    expect(() =>
      compareStep(browser, { drawn_probs: [0.5], ref_probs: [0.1, 0.2], drawn_ids: [1, 2, 3, 4] }),
    ).toThrow(/drawn_probs/);
  });

  it('writes one table row per load run', () => {
    const table = markdownTable([assembleLoadRun(m)]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table).toContain(
      '| reduced | q4 | 512 | webgpu | jspi | all | 1/2 | 1 | 1.2 s | 1,907 MiB | 954 MiB | 2,384 MiB | 64 MiB | 10 MiB | ok, 0.6 s, 0 files, 5/5 marked |',
    );
  });
});

describe('static server paths', () => {
  const root = mkdtempSync(join(tmpdir(), 'fullsize-serve-'));
  mkdirSync(join(root, 'app'));
  mkdirSync(join(root, 'pkg', 'q4'), { recursive: true });
  writeFileSync(join(root, 'app', 'index.html'), '');
  writeFileSync(join(root, 'pkg', 'q4', 'a.onnx'), '');
  const packages = { reduced: join(root, 'pkg') };

  it('maps the app and package folders and refuses paths outside them', () => {
    expect(resolveRequest('/', join(root, 'app'), packages)).toBe(join(root, 'app', 'index.html'));
    expect(resolveRequest('/packages/reduced/q4/a.onnx?x=1', join(root, 'app'), packages)).toBe(
      join(root, 'pkg', 'q4', 'a.onnx'),
    );
    expect(resolveRequest('/packages/reduced/../app/index.html', join(root, 'app'), packages)).toBeNull();
    expect(resolveRequest('/packages/other/q4/a.onnx', join(root, 'app'), packages)).toBeNull();
    expect(resolveRequest('/packages/reduced/q4/b.onnx', join(root, 'app'), packages)).toBeNull();
  });
});
