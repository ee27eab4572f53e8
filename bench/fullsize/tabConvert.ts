/**
 * `npm run fullsize:tab -- --app DIR [--checkpoint DIR] [--templates [NAME=]DIR] [--package DIR]
 *   [--json FILE] [--dtype q4] [--port 4199] [--sample-ms 500] [--heap-every-s 30] [--timeout-min 90]
 *   [--offer-only]`
 *
 * A model folder opened from disk in the editor, as a person does it, in system Chromium (headless,
 * a fresh persistent profile per case, `scripts/chromium.ts` flags) on a built app (`--app`, from
 * `npx vite build --outDir DIR`), with the WASM backend chosen in Settings:
 * - `--checkpoint DIR`: the folder through the Model panel's picker (`open-folder`), the offer
 *   accepted in `--dtype`, the conversion in the tab until the package is loaded (`model-badge`);
 * - `--package DIR`: a converted package's folder through the same picker (copied into the model
 *   store, then loaded).
 * `--templates [NAME=]DIR` serves a template folder beside the app as `templates/NAME/` and adds it
 * to the app's `templates/index.json` (NAME: the folder's name unless given), for a checkpoint
 * whose templates the build does not ship.
 *
 * Reported per case: the phases' wall times (pick → offer, accept → converted or copied, → loaded),
 * the renderer's and GPU process's peak RSS and the peak of all Chromium processes summed (sampled
 * from /proc), the tree's CPU time and bytes read, the workers' JS heap and ArrayBuffers (through
 * the DevTools protocol), and the origin's storage use afterwards. Each profile is deleted at the end of its case (its OPFS holds the package).
 */
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium';
import { browserPidFor, readProcTable } from './procMemory';
import { PhaseAccumulator, readTree } from './tabTree';
import { CONTENT_TYPES } from './server';
import { bytesUnder, filesUnder, secs, tabMarkdown, withTemplates } from './tabReport';
import type { TabCase, TemplatesIndex, WorkerHeap } from './tabReport';

const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// the server: the built app, plus extra template folders listed in its templates/index.json

/** The file a URL path names: under a `templates/NAME/` folder of `extra`, else under `appDir`; or null. */
function fileFor(urlPath: string, appDir: string, extra: Record<string, string>): string | null {
  const path = decodeURIComponent(urlPath.split('?')[0]!);
  const m = /^\/templates\/([^/]+)\/(.*)$/.exec(path);
  const root = m && Object.hasOwn(extra, m[1]!) ? extra[m[1]!]! : appDir;
  const rel = normalize(m && root !== appDir ? m[2]! : path === '/' ? 'index.html' : path.slice(1));
  if (rel.startsWith('..') || rel.startsWith(sep)) return null;
  const file = join(root, rel);
  return existsSync(file) && statSync(file).isFile() ? file : null;
}

function serve(appDir: string, extra: Record<string, string>, port: number) {
  const appIndex = join(appDir, 'templates', 'index.json');
  const index = JSON.stringify(
    withTemplates(
      existsSync(appIndex)
        ? (JSON.parse(readFileSync(appIndex, 'utf8')) as TemplatesIndex)
        : { templates: [] },
      extra,
    ),
  );
  const server = createServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    const url = req.url ?? '/';
    if (url.split('?')[0] === '/templates/index.json') {
      res.setHeader('Content-Type', 'application/json');
      res.end(index);
      return;
    }
    const file = fileFor(url, appDir, extra);
    if (!file) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise<{ url: string; close: () => Promise<void> }>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () =>
      ok({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// the workers' heaps, through the DevTools protocol: the page's session auto-attaches its workers
// and asks each for Runtime.getHeapUsage (the JS heap, and the ArrayBuffers' backing stores). The
// WASM heap itself is not reachable this way: Runtime.queryObjects on WebAssembly.Memory, which
// would find it, crashed the renderer (Chromium 156).

interface HeapProbe {
  /** Samples every attached worker now (summed over workers) and keeps the peaks since `reset`. */
  read(): Promise<void>;
  peak(): WorkerHeap | null;
  reset(): void;
}

async function heapProbe(ctx: BrowserContext, page: Page): Promise<HeapProbe> {
  const cdp: CDPSession = await ctx.newCDPSession(page);
  const workers = new Set<string>();
  const pending = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  let next = 1;
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker') workers.add(e.sessionId);
  });
  cdp.on('Target.detachedFromTarget', (e) => workers.delete(e.sessionId ?? ''));
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id !== undefined) pending.get(m.id)?.(m);
    if (m.id !== undefined) pending.delete(m.id);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const call = <T>(sessionId: string, method: string, params: object): Promise<T> =>
    new Promise((ok, fail) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        fail(new Error(`${method}: no answer in 20 s`));
      }, 20_000);
      pending.set(id, (m) => {
        clearTimeout(timer);
        if (m.error) fail(new Error(`${method}: ${m.error.message}`));
        else ok(m.result as T);
      });
      cdp
        .send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
        .catch((err: unknown) => {
          clearTimeout(timer);
          pending.delete(id);
          fail(err as Error);
        });
    });
  let peak: WorkerHeap | null = null;
  const probe: HeapProbe = {
    peak: () => peak,
    reset: () => void (peak = null),
    async read() {
      let js = 0;
      let buffers = 0;
      let answered = 0;
      for (const s of [...workers]) {
        try {
          const u = await call<{ usedSize: number; backingStorageSize?: number }>(
            s,
            'Runtime.getHeapUsage',
            {},
          );
          js += u.usedSize;
          buffers += u.backingStorageSize ?? 0;
          answered++;
        } catch (err) {
          // a worker that ended, or was too busy to answer in time
          if (process.env['TAB_DEBUG']) console.error(`heap probe: ${String(err)}`);
        }
      }
      if (answered === 0) return;
      peak = {
        workers: Math.max(peak?.workers ?? 0, answered),
        js_heap_bytes: Math.max(peak?.js_heap_bytes ?? 0, js),
        array_buffer_bytes: Math.max(peak?.array_buffer_bytes ?? 0, buffers),
      };
    },
  };
  return probe;
}

// ---------------------------------------------------------------------------------------------
// one case

/** `p`'s value, or null when it has not settled within `ms`. */
function within<T>(p: Promise<T> | undefined, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    (p ?? Promise.resolve(null)).finally(() => clearTimeout(timer)),
    new Promise<null>((r) => (timer = setTimeout(() => r(null), ms))),
  ]);
}

interface PageText {
  notice: string | null;
  error: string | null;
  badge: string | null;
  progress: string | null;
  status: string | null;
  ready: boolean;
}

function pageText(page: Page, name: string): Promise<PageText> {
  // no named functions inside: tsx's transform would wrap them in a helper the page lacks
  return page.evaluate(async (name) => {
    const text = Object.fromEntries(
      ['notice', 'error', 'model-badge', 'convert-status', 'model-progress'].map((id) => [
        id,
        document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null,
      ]),
    );
    const snap = await window.__editmgt!.snapshot();
    return {
      notice: text['notice'] ?? null,
      error: text['error'] ?? null,
      badge: text['model-badge'] ?? null,
      progress: text['convert-status'] ?? text['model-progress'] ?? null,
      status: snap.modelStatus,
      ready: snap.modelStatus === 'ready' && snap.model?.name === name,
    };
  }, name);
}

interface CaseOptions {
  url: string;
  kind: 'convert' | 'copy';
  folder: string;
  dtype: string;
  sampleMs: number;
  heapEveryMs: number;
  timeoutMs: number;
  stopping: () => boolean;
  /** stop at the offer (a check that the checkpoint and templates fit, nothing converted) */
  offerOnly: boolean;
  log: (line: string) => void;
}

async function runCase(o: CaseOptions): Promise<TabCase> {
  const name = basename(o.folder);
  const files = filesUnder(o.folder);
  const out: TabCase = {
    kind: o.kind,
    folder: o.folder,
    name,
    folder_bytes: Object.values(files).reduce((s, b) => s + b, 0),
    folder_files: Object.keys(files).length,
    backend: 'wasm',
    dtype: o.kind === 'convert' ? o.dtype : null,
    ok: false,
    error: null,
    offer: null,
    offer_space: null,
    notice: null,
    offer_s: null,
    work_s: null,
    ready_s: null,
    work: null,
    load: null,
    renderer_before_bytes: 0,
    worker_heap_work: null,
    worker_heap_load: null,
    storage_usage_bytes: null,
    profile_bytes: null,
    last_progress: null,
  };
  const profile = mkdtempSync(join(tmpdir(), 'editmgt-tab-'));
  let ctx: BrowserContext | null = null;
  let timer: NodeJS.Timeout | null = null;
  // the phase under way, kept for a case that fails or is stopped: what it measured until then
  let phase: PhaseAccumulator | null = null;
  let started: number | null = null;
  let heap: HeapProbe | null = null;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      // the app shell's service worker is not what is measured
      serviceWorkers: 'block',
      // a stop (SIGINT, SIGTERM) ends the case here, with what it measured, before Chromium closes
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(120_000);
    const pid = browserPidFor(readProcTable(), profile);
    if (pid === null) throw new Error(`no Chromium process found for profile ${profile}`);
    heap = o.heapEveryMs > 0 ? await heapProbe(ctx, page) : null;
    // the editor on the tiny bundled model, switched to WASM in Settings
    await page.goto(`${o.url}/?test&model=${encodeURIComponent('/models/tiny-random/')}`);
    await page.waitForFunction(() => window.__editmgt !== undefined);
    await page.getByTestId('backend-select').selectOption('wasm');
    await page.waitForFunction(
      async () => {
        const s = await window.__editmgt!.snapshot();
        return s.model?.backend === 'wasm' && s.modelStatus === 'ready';
      },
      undefined,
      { timeout: 120_000, polling: 500 },
    );
    // the largest renderer: the page's
    out.renderer_before_bytes = Math.max(
      0,
      ...readTree(pid)
        .filter((p) => p.role === 'renderer')
        .map((p) => p.rssBytes),
    );

    phase = new PhaseAccumulator(readTree(pid));
    timer = setInterval(() => phase?.add(readTree(pid)), o.sampleMs);
    const picked = Date.now();
    o.log(
      `${name}: choosing the folder (${(out.folder_bytes / 1e9).toFixed(2)} GB, ${out.folder_files} files) …`,
    );
    await page.getByTestId('open-folder').setInputFiles(o.folder);
    started = picked;
    if (o.kind === 'convert') {
      const offer = page.getByTestId('convert-offer');
      await Promise.race([
        offer.waitFor({ timeout: 30 * 60_000 }),
        page
          .getByTestId('error')
          .waitFor({ timeout: 30 * 60_000 })
          .then(async () => {
            throw new Error(`refused: ${await page.getByTestId('error').textContent()}`);
          }),
      ]);
      out.offer_s = (Date.now() - picked) / 1000;
      out.offer = await page.getByTestId('convert-model').textContent();
      const options = await page
        .getByTestId('convert-dtype')
        .locator('option')
        .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
      if (!options.includes(o.dtype))
        throw new Error(`the offer makes ${options.join(', ')}, not ${o.dtype}`);
      await page.getByTestId('convert-dtype').selectOption(o.dtype);
      out.offer_space = await page.getByTestId('convert-space').textContent();
      o.log(`  offered in ${out.offer_s.toFixed(1)} s: ${out.offer}; ${out.offer_space}`);
      if (o.offerOnly) {
        out.ok = true;
        return out;
      }
      o.log(`  converting to ${o.dtype} …`);
      phase = new PhaseAccumulator(readTree(pid));
      started = Date.now();
      await page.getByTestId('convert-accept').click();
    }
    const done = o.kind === 'convert' ? /^Converted / : /^Copied /;
    let lastHeap = Date.now();
    let lastLog = Date.now();
    let workEnded: number | null = null;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      // a page too busy to answer within 30 s is asked again (a stop is still seen in time)
      const t = await within(pageText(page, name), 30_000);
      if (!t) {
        if (o.stopping()) throw new Error(`stopped after ${((Date.now() - started) / 1000).toFixed(0)} s`);
        continue;
      }
      if (t.progress && workEnded === null) out.last_progress = t.progress;
      if (workEnded === null && t.notice && done.test(t.notice)) {
        workEnded = Date.now();
        out.notice = t.notice;
        out.work_s = (workEnded - started) / 1000;
        // The app starts loading the package the moment it is done, and this loop sees the notice
        // a second or more later: the work's peaks are taken up to the end the notice itself
        // gives ("… in 1533.6 s."), from the click, with 250 ms for the click to arrive.
        const appSeconds = /in (\d+(?:\.\d+)?) s\.$/.exec(t.notice);
        out.work = phase.totals(appSeconds ? started + Number(appSeconds[1]) * 1000 + 250 : Infinity);
        await heap?.read();
        out.worker_heap_work = heap?.peak() ?? null;
        heap?.reset();
        phase = new PhaseAccumulator(readTree(pid));
        o.log(`  ${t.notice} (${out.work_s.toFixed(1)} s measured); loading …`);
      }
      if (workEnded !== null && t.ready) {
        out.ready_s = (Date.now() - started) / 1000;
        out.load = phase.totals();
        out.ok = true;
        break;
      }
      if (t.error) throw new Error(`the page said: ${t.error}`);
      if (Date.now() - started > o.timeoutMs)
        throw new Error(
          `not ready after ${(o.timeoutMs / 60_000).toFixed(0)} min (${out.last_progress ?? 'no progress shown'})`,
        );
      if (o.stopping()) throw new Error(`stopped after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      if (heap && Date.now() - lastHeap >= o.heapEveryMs) {
        await heap.read();
        lastHeap = Date.now();
      }
      if (Date.now() - lastLog >= 60_000) {
        const now = phase.totals();
        o.log(
          `  ${((Date.now() - started) / 1000).toFixed(0)} s: ${t.progress ?? t.status ?? ''} | renderer peak ${(now.peak_largest_renderer_bytes / MiB).toFixed(0)} MiB, tree ${(now.peak_tree_bytes / MiB).toFixed(0)} MiB, CPU ${now.cpu_s.toFixed(0)} s`,
        );
        lastLog = Date.now();
      }
    }
    await heap?.read();
    out.worker_heap_load = heap?.peak() ?? null;
    out.storage_usage_bytes = await page.evaluate(
      async () => (await navigator.storage.estimate()).usage ?? null,
    );
    out.profile_bytes = bytesUnder(profile);
    return out;
  } catch (err) {
    out.error = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    if (phase && started !== null) {
      // partial: the phase's numbers up to the failure or stop (`ok` false, the elapsed time in work_s or ready_s)
      const elapsed = (Date.now() - started) / 1000;
      if (out.work === null) {
        out.work = phase.totals();
        out.work_s = elapsed;
        out.worker_heap_work = heap?.peak() ?? null;
      } else {
        out.load = phase.totals();
        out.ready_s = elapsed;
        out.worker_heap_load = heap?.peak() ?? null;
      }
    }
    return out;
  } finally {
    if (timer) clearInterval(timer);
    // what was measured until the failure or stop
    // a busy browser may not close at once: the case's numbers are not held up for it
    await within(
      ctx?.close().catch(() => undefined),
      20_000,
    );
    rmSync(profile, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      app: { type: 'string' },
      checkpoint: { type: 'string' },
      templates: { type: 'string', multiple: true },
      package: { type: 'string' },
      json: { type: 'string' },
      dtype: { type: 'string', default: 'q4' },
      port: { type: 'string', default: '4199' },
      'sample-ms': { type: 'string', default: '500' },
      'heap-every-s': { type: 'string', default: '30' },
      'timeout-min': { type: 'string', default: '90' },
      'offer-only': { type: 'boolean', default: false },
    },
  });
  if (!values.app) throw new Error('--app DIR (a built app: npx vite build --outDir DIR) is required');
  if (!values.checkpoint && !values.package) throw new Error('give --checkpoint DIR, --package DIR, or both');
  const app = resolve(values.app);
  if (!existsSync(join(app, 'index.html'))) throw new Error(`${app} has no index.html: not a built app`);
  const extra: Record<string, string> = {};
  for (const t of values.templates ?? []) {
    const at = t.indexOf('=');
    const dir = resolve(at > 0 ? t.slice(at + 1) : t);
    if (!existsSync(join(dir, 'manifest.json')))
      throw new Error(`--templates ${t}: ${dir} has no manifest.json`);
    extra[at > 0 ? t.slice(0, at) : basename(dir)] = dir;
  }
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      console.error(`${sig}: stopping after this sample; the profile is removed`);
      stopping = true;
    });
  const server = await serve(app, extra, Number(values.port));
  const cases: TabCase[] = [];
  const save = () => {
    if (values.json)
      writeFileSync(
        values.json,
        JSON.stringify({ measured_at: new Date().toISOString(), cases }, null, 1) + '\n',
      );
  };
  const common = {
    url: server.url,
    dtype: values.dtype,
    sampleMs: Number(values['sample-ms']),
    heapEveryMs: Number(values['heap-every-s']) * 1000,
    timeoutMs: Number(values['timeout-min']) * 60_000,
    stopping: () => stopping,
    offerOnly: values['offer-only'],
    log: (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  };
  try {
    const plan: ['convert' | 'copy', string][] = [];
    if (values.checkpoint) plan.push(['convert', resolve(values.checkpoint)]);
    if (values.package) plan.push(['copy', resolve(values.package)]);
    for (const [kind, folder] of plan) {
      if (stopping) break;
      const c = await runCase({ ...common, kind, folder });
      cases.push(c);
      save();
      common.log(
        !c.ok
          ? `  ${kind} failed: ${c.error}`
          : c.ready_s === null
            ? `  ${kind}: offered`
            : `  ${kind}: ready in ${secs(c.ready_s)}`,
      );
    }
  } finally {
    await server.close();
  }
  console.log(tabMarkdown(cases));
  if (cases.some((c) => !c.ok)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
