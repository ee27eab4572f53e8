import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PhaseAccumulator, parseCpuTicks, parseIo, readTree, treeOf } from './tabTree';
import type { TreeProcess } from './tabTree';
import { filesUnder, tabMarkdown, withTemplates } from './tabReport';
import type { TabCase, TemplatesIndex } from './tabReport';

const proc = (pid: number, role: TreeProcess['role'], rss: number, cpu: number, rchar = 0): TreeProcess => ({
  pid,
  role,
  rssBytes: rss,
  cpuTicks: cpu,
  rchar,
  readBytes: 0,
});

describe('/proc parsers', () => {
  it('reads utime + stime after the command, whose name may hold spaces and parens', () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const stat = '4242 (Chrome_Child (x) a) S 1 4242 4242 0 -1 4194560 100 0 3 0 1234 567 8 9 20 0 1 0';
    expect(parseCpuTicks(stat)).toBe(1234 + 567);
    expect(parseCpuTicks('garbage')).toBeNull();
  });

  it('reads rchar and read_bytes of /proc/PID/io', () => {
    const io = 'rchar: 900\nwchar: 10\nsyscr: 3\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 0\n';
    expect(parseIo(io)).toEqual({ rchar: 900, readBytes: 4096 });
    expect(parseIo('rchar: 1\n')).toBeNull();
  });

  it('finds this process in its own tree, with its CPU time and reads', () => {
    const me = readTree(process.pid).find((p) => p.pid === process.pid);
    expect(me?.role).toBe('browser');
    expect(me!.rssBytes).toBeGreaterThan(0);
    expect(me!.cpuTicks).toBeGreaterThan(0);
    expect(me!.rchar).toBeGreaterThan(0);
  });

  it('takes the root and every descendant, nothing else', () => {
    const table = [
      { pid: 1, ppid: 0, cmdline: 'init', rssBytes: 1 },
      { pid: 10, ppid: 1, cmdline: 'chromium', rssBytes: 1 },
      { pid: 11, ppid: 10, cmdline: 'zygote', rssBytes: 1 },
      { pid: 12, ppid: 11, cmdline: 'chromium --type=renderer', rssBytes: 1 },
      { pid: 20, ppid: 1, cmdline: 'other', rssBytes: 1 },
    ];
    expect(
      treeOf(table, 10)
        .map((p) => p.pid)
        .sort(),
    ).toEqual([10, 11, 12]);
  });
});

describe('PhaseAccumulator', () => {
  it('counts CPU and reads from the phase start, new processes from zero, ended ones to their last sample', () => {
    const acc = new PhaseAccumulator([proc(1, 'browser', 100, 50, 1000), proc(2, 'renderer', 300, 20)]);
    acc.add([proc(1, 'browser', 100, 60, 1500), proc(2, 'renderer', 700, 30), proc(3, 'gpu-process', 50, 5)]);
    // the renderer ended (or was replaced) before the last sample
    acc.add([proc(1, 'browser', 120, 70, 1600), proc(4, 'renderer', 200, 2), proc(5, 'renderer', 650, 1)]);
    const t = acc.totals();
    expect(t.samples).toBe(3);
    // renderers summed at one moment (200 + 650), and the largest one alone
    expect(t.peak_renderer_bytes).toBe(850);
    expect(t.peak_largest_renderer_bytes).toBe(700);
    expect(t.peak_gpu_process_bytes).toBe(50);
    // the largest sum at one moment, not the sum of each process's peak
    expect(t.peak_tree_bytes).toBe(970);
    // browser 20 ticks, old renderer 10, GPU process 5, new renderers 2 and 1
    expect(t.cpu_s).toBeCloseTo(0.38, 10);
    expect(t.rchar_bytes).toBe(600);
  });

  it('takes the peaks over the samples up to a given time only, when the next phase started before its end was seen', () => {
    const acc = new PhaseAccumulator([proc(2, 'renderer', 300, 0)], 1000);
    acc.add([proc(2, 'renderer', 500, 10)], 1500);
    // the page's phase ended at 1700; the next one's load was sampled before the end was seen
    acc.add([proc(2, 'renderer', 900, 20)], 2000);
    expect(acc.totals(1700).peak_largest_renderer_bytes).toBe(500);
    expect(acc.totals(1700).samples).toBe(2);
    expect(acc.totals().peak_largest_renderer_bytes).toBe(900);
    // CPU to the last sample either way
    expect(acc.totals(1700).cpu_s).toBeCloseTo(acc.totals().cpu_s, 10);
  });
});

describe('the report', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('adds a template folder to the app’s index as the build lists one, replacing one of the same name', () => {
    dir = mkdtempSync(join(tmpdir(), 'tab-templates-'));
    mkdirSync(join(dir, 'q4'));
    writeFileSync(join(dir, 'manifest.json'), '{}');
    writeFileSync(join(dir, 'q4', 'a.onnx'), 'abc');
    writeFileSync(join(dir, '.hidden'), 'x');
    expect(filesUnder(dir)).toEqual({ 'manifest.json': 2, 'q4/a.onnx': 3 });
    const index: TemplatesIndex = {
      templates: [
        { name: 'tiny-random', files: { 'manifest.json': 1 } },
        { name: 'big', files: {} },
      ],
    };
    expect(withTemplates(index, { big: dir })).toEqual({
      templates: [
        { name: 'tiny-random', files: { 'manifest.json': 1 } },
        { name: 'big', files: { 'manifest.json': 2, 'q4/a.onnx': 3 } },
      ],
    });
  });

  it('writes one row per case, a failed one with its reason and no numbers', () => {
    const base: TabCase = {
      kind: 'convert',
      folder: '/x/ckpt',
      name: 'ckpt',
      folder_bytes: 16.5e9,
      folder_files: 40,
      backend: 'wasm',
      dtype: 'q4',
      ok: true,
      error: null,
      offer: null,
      offer_space: null,
      notice: null,
      offer_s: 3,
      work_s: 1500,
      ready_s: 1620.4,
      work: {
        samples: 10,
        peak_renderer_bytes: 1300 * 1024 * 1024,
        peak_largest_renderer_bytes: 1200 * 1024 * 1024,
        peak_gpu_process_bytes: 90 * 1024 * 1024,
        peak_tree_bytes: 2000 * 1024 * 1024,
        cpu_s: 1700.2,
        rchar_bytes: 17e9,
        read_bytes: 16.4e9,
      },
      load: null,
      renderer_before_bytes: 0,
      worker_heap_work: null,
      worker_heap_load: null,
      storage_usage_bytes: null,
      profile_bytes: null,
      last_progress: null,
    };
    const table = tabMarkdown([base, { ...base, kind: 'copy', ok: false, error: 'stopped', work: null }]);
    const [, , ok, failed] = table.split('\n');
    expect(ok).toContain('| 25 min 0 s | 1700 s | 1,200 MiB | 2,000 MiB | 90 MiB |');
    expect(ok).toContain('| 17.00 / 16.40 GB | 27 min 0 s |');
    expect(failed).toContain('| failed: stopped | 25 min 0 s | – | – |');
  });
});
