/**
 * `npm run fullsize -- --json out.json`: loads model packages in system Chromium through the
 * app's own worker (built app, persistent profile, WebGPU and WASM) and reports per run which
 * graphs were created, the nodes placed on the CPU, the memory peaks (renderer and GPU process
 * RSS from /proc every 200 ms, the worker's WASM heap, the JS heap), and whether a reload opened
 * from the cache without downloading; then one transformer step on WebGPU next to
 * onnxruntime-node, and (with --full-depth-node) full-depth steps on onnxruntime-node.
 *
 *   npm run fullsize -- [--json FILE] [--port 4194] [--backends webgpu,wasm] [--builds jspi,jsep]
 *     [--wasm-builds jsep,jspi]
 *     [--packages full-depth,reduced,tiny-random,shapes] [--dtype q4] [--resolution 512]
 *     [--real-gemma-table] [--no-step] [--step-package reduced] [--full-depth-node]
 *     [--memory all|release-text|phased]
 *
 * `reduced` is the depth-reduced real-width package and `full-depth` the full-depth one (the
 * published transformer's 14 + 28 blocks, real-width text stand-ins) that
 * bench/fullsize/build_package.py builds into tools/export/.cache/browser-fullsize/ (reused when
 * its options match). `--builds` picks the onnxruntime-web builds the WebGPU loads run on (`jspi`,
 * the worker's default where the browser has JSPI; `jsep`, its fallback, the worker's runtime
 * option `webgpuBuild: 'jsep'`, and what WASM always runs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import type { Dtype, MemoryPolicy } from '../../src/engine/index';
import { readManifest } from '../../src/engine/runtime/node/index';
import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium';
import type { BuildChoice, GraphCheck, LoadOptions, LoadResult, StepResult } from './pageTypes';
import { browserPidFor, MemorySampler, readProcTable } from './procMemory';
import { assembleLoadRun, downloadedFiles, markdownTable } from './report';
import type { FullsizeRun, NodeStepRun, StepParityRun } from './report';
import { serveStatic } from './server';
import type { StaticServer } from './server';
import { nodeStep, nodeStepParity } from './nodeStep';

const CACHE = resolve('tools/export/.cache/browser-fullsize');
const PYTHON = resolve('tools/export/.venv/bin/python');
const LOAD_TIMEOUT_MS = 40 * 60_000;

interface PackageRef {
  name: string;
  dir: string;
  dtype: Dtype;
}

function buildPackage(work: string, args: string[]): string {
  console.log(`building (or reusing) ${work} …`);
  const r = spawnSync(PYTHON, [resolve('bench/fullsize/build_package.py'), '--work', work, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`build_package.py failed (exit ${r.status})`);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { package: string; reused: boolean };
  console.log(last.reused ? '  reused' : `  built: ${r.stdout.trim().split('\n').pop()}`);
  return last.package;
}

/** build_package.py's options for the full-depth package (one checkpoint for every resolution):
 * in q4, the real text encoders too (CLIP-H, and Gemma-2-2B widened after its export). */
function fullDepthArgs(resolution: string, dtype: Dtype): string[] {
  const text = dtype === 'q4' ? ['--text', 'real'] : [];
  return ['--resolution', resolution, '--dtype', dtype, '--double', '14', '--single', '28', ...text];
}

function buildApp(outDir: string): void {
  const r = spawnSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
}

function packageFacts(ref: PackageRef): { resolution: number; bytes: number; maxBufferBytes: number | null } {
  const m = readManifest(ref.dir);
  const graphs = m.dtypes[ref.dtype]?.graphs;
  if (!graphs) throw new Error(`${ref.name} has no ${ref.dtype} graphs`);
  const paths = Object.values(graphs).flatMap((g) => [g.file, ...(g.external_data ?? [])]);
  const bytes = paths.reduce((s, p) => s + statSync(join(ref.dir, p)).size, 0);
  return { resolution: m.config.resolution, bytes, maxBufferBytes: m.config.max_buffer_bytes ?? null };
}

async function openProfile(profile: string): Promise<{ ctx: BrowserContext; page: Page; pid: number }> {
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(LOAD_TIMEOUT_MS);
  if (process.env['FULLSIZE_DEBUG'])
    page.on('console', (m) => console.error(`[page ${m.type()}] ${m.text()}`));
  const pid = browserPidFor(readProcTable(), profile);
  if (pid === null) throw new Error(`no Chromium process found for profile ${profile}`);
  return { ctx, page, pid };
}

async function openBench(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/bench.html`);
  await page.waitForFunction(() => window.__fullsize !== undefined);
}

/** One load with the renderer and GPU processes sampled throughout. */
async function sampledLoad(
  page: Page,
  pid: number,
  o: LoadOptions,
): Promise<{ result: LoadResult; sampler: MemorySampler }> {
  const sampler = new MemorySampler(pid).start();
  try {
    const result = await page.evaluate((x) => window.__fullsize!.load(x), o);
    return { result, sampler };
  } finally {
    sampler.stop();
  }
}

async function measureLoad(
  server: StaticServer,
  ref: PackageRef,
  backend: 'webgpu' | 'wasm',
  build: BuildChoice,
  memory: MemoryPolicy | undefined,
): Promise<FullsizeRun> {
  const facts = packageFacts(ref);
  const prefix = `/packages/${ref.name}/`;
  const profile = mkdtempSync(join(tmpdir(), 'editmgt-fullsize-'));
  try {
    console.log(`${ref.name} ${ref.dtype} on ${backend} (${build} build): first visit …`);
    let s = await openProfile(profile);
    await openBench(s.page, server.url);
    const first = await sampledLoad(s.page, s.pid, {
      baseUrl: prefix,
      backend,
      dtype: ref.dtype,
      build,
      memory,
      clearCache: true,
    });
    await s.ctx.close();
    console.log(
      `  ${first.result.ok ? 'loaded' : `failed: ${first.result.error}`} in ${(first.result.ms / 1000).toFixed(1)} s; reload …`,
    );
    s = await openProfile(profile);
    await openBench(s.page, server.url);
    const reloadStore = await s.page.evaluate((x) => window.__fullsize!.storeMarks(x), {
      baseUrl: prefix,
      dtype: ref.dtype,
    });
    const mark = server.log.length;
    const reload = await sampledLoad(s.page, s.pid, {
      baseUrl: prefix,
      backend,
      dtype: ref.dtype,
      build,
      memory,
      clearCache: false,
    });
    const reloadDownloaded = downloadedFiles(server.log.slice(mark), prefix);
    console.log(
      `  reload ${reload.result.ok ? 'ok' : `failed: ${reload.result.error}`}, ${reloadDownloaded.length} files fetched; each graph alone …`,
    );
    const graphs: Record<string, GraphCheck> = await s.page.evaluate((x) => window.__fullsize!.graphs(x), {
      baseUrl: prefix,
      backend,
      dtype: ref.dtype,
    });
    await s.ctx.close();
    return assembleLoadRun({
      package: ref.name,
      dtype: ref.dtype,
      resolution: facts.resolution,
      backend,
      packageBytes: facts.bytes,
      maxBufferBytes: facts.maxBufferBytes,
      first: first.result,
      firstPeak: {
        renderer: first.sampler.peak.renderer,
        gpu: first.sampler.peak['gpu-process'],
        together: first.sampler.peakTogether,
      },
      reload: reload.result,
      reloadPeak: { together: reload.sampler.peakTogether },
      reloadDownloaded,
      reloadStore,
      graphs,
    });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

async function measureStep(server: StaticServer, ref: PackageRef): Promise<StepParityRun> {
  const facts = packageFacts(ref);
  const profile = mkdtempSync(join(tmpdir(), 'editmgt-fullsize-'));
  try {
    console.log(`${ref.name} ${ref.dtype}: one transformer_step on WebGPU and on onnxruntime-node …`);
    const s = await openProfile(profile);
    await openBench(s.page, server.url);
    const browser: StepResult = await s.page.evaluate((x) => window.__fullsize!.step(x), {
      baseUrl: `/packages/${ref.name}/`,
      backend: 'webgpu' as const,
      dtype: ref.dtype,
    });
    await s.ctx.close();
    return await nodeStepParity(ref.dir, ref.name, ref.dtype, facts.resolution, browser);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      port: { type: 'string', default: '4194' },
      backends: { type: 'string', default: 'webgpu,wasm' },
      builds: { type: 'string', default: 'jspi' },
      'wasm-builds': { type: 'string', default: 'jsep' },
      memory: { type: 'string' },
      packages: { type: 'string', default: 'reduced,tiny-random,shapes' },
      dtype: { type: 'string', default: 'q4' },
      resolution: { type: 'string', default: '512' },
      'real-gemma-table': { type: 'boolean', default: false },
      'no-step': { type: 'boolean', default: false },
      'step-package': { type: 'string', default: 'reduced' },
      'full-depth-node': { type: 'boolean', default: false },
    },
  });
  const dtype = values.dtype as Dtype;
  const refs: PackageRef[] = values.packages
    .split(',')
    .filter(Boolean)
    .map((name) => {
      if (name === 'full-depth')
        return {
          name,
          dir: buildPackage(join(CACHE, 'full-depth'), fullDepthArgs(values.resolution, dtype)),
          dtype,
        };
      if (name !== 'reduced') return { name, dir: resolve('public/models', name), dtype };
      const extra = values['real-gemma-table'] ? ['--real-gemma-table'] : [];
      const dir = buildPackage(join(CACHE, values['real-gemma-table'] ? 'reduced-gemma-table' : 'reduced'), [
        '--resolution',
        values.resolution,
        '--dtype',
        dtype,
        ...extra,
      ]);
      return { name, dir, dtype };
    });
  const appDir = join(CACHE, 'app');
  console.log('building the app …');
  buildApp(appDir);
  const server = await serveStatic(
    appDir,
    Object.fromEntries(refs.map((r) => [r.name, r.dir])),
    Number(values.port),
  );
  const runs: FullsizeRun[] = [];
  const save = () => values.json && writeFileSync(values.json, JSON.stringify(runs, null, 1) + '\n');
  try {
    for (const ref of refs) {
      for (const backend of values.backends.split(',').filter(Boolean) as ('webgpu' | 'wasm')[]) {
        // the build choice is WebGPU's: WASM runs the JSEP build (the JSPI one with --wasm-builds)
        const builds = (backend === 'webgpu' ? values.builds : values['wasm-builds'])
          .split(',')
          .filter(Boolean) as BuildChoice[];
        for (const build of builds) {
          runs.push(
            await measureLoad(server, ref, backend, build, values.memory as MemoryPolicy | undefined),
          );
          save();
        }
      }
    }
    const stepRef = refs.find((r) => r.name === values['step-package']);
    if (stepRef && !values['no-step']) {
      runs.push(await measureStep(server, stepRef));
      save();
    }
  } finally {
    await server.close();
  }
  if (values['full-depth-node']) {
    for (const resolution of [256, 512]) {
      const dir = buildPackage(join(CACHE, 'full-depth'), fullDepthArgs(String(resolution), dtype));
      const run: NodeStepRun = nodeStep(dir, `full-depth-${resolution}`, dtype, resolution);
      runs.push(run);
      save();
    }
  }
  console.log(markdownTable(runs));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
