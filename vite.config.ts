import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// Cross-origin isolation lets onnxruntime-web use SharedArrayBuffer (multi-threaded WASM).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

// Only what the app needs: our own scripts, WebAssembly compilation, workers from our origin,
// and fetches for model packages hosted elsewhere (a user-supplied base URL: any https host, or a
// package served from this machine over http).
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' https: http://127.0.0.1:* http://localhost:* blob: data:",
  "img-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Writes shell-files.json beside the built page: the files the app shell's service worker
 * (src/shell/serviceWorker.ts) keeps for offline use, and a version naming that set. Source maps
 * and the benchmark page's own script are left out; model packages are cached by the engine.
 */
function shellFileList(): Plugin {
  return {
    name: 'editmgt-shell-files',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((f) => f.startsWith('assets/') && !f.endsWith('.map') && !f.startsWith('assets/bench-'))
        .sort();
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 16);
      this.emitFile({
        type: 'asset',
        fileName: 'shell-files.json',
        source: `${JSON.stringify({ version, files }, null, 1)}\n`,
      });
      // A new set of files changes sw.js itself, which is what makes browsers install the new
      // worker (it then keeps the new files and drops the old cache).
      const worker = bundle['sw.js'];
      if (worker?.type === 'chunk') worker.code += `\n// app shell ${version}\n`;
    },
  };
}

/** Every file under `dir`, as `/`-separated paths relative to it, with its size. */
function filesUnder(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out[relative(dir, full).split(sep).join('/')] = statSync(full).size;
    }
  };
  walk(dir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The converter's shipped templates (templates/<name>/ in the repository) served beside the app
 * under `templates/`, with `templates/index.json` listing each folder's files: the worker fetches
 * them when it converts a checkpoint in the tab (workers/templatesSource.ts); they are never
 * part of the app's bundle or its offline shell.
 */
function converterTemplates(): Plugin {
  const root = 'templates';
  const index = () =>
    JSON.stringify({
      templates: readdirSync(root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => ({ name: e.name, files: filesUnder(join(root, e.name)) })),
    });
  return {
    name: 'editmgt-converter-templates',
    configureServer(server) {
      server.middlewares.use('/templates/', (req, res, next) => {
        const path = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '');
        if (path === 'index.json') {
          res.setHeader('Content-Type', 'application/json');
          res.end(index());
          return;
        }
        const full = join(root, ...path.split('/'));
        if (path.split('/').includes('..') || !statSync(full, { throwIfNoEntry: false })?.isFile())
          return next();
        res.end(readFileSync(full));
      });
    },
    generateBundle() {
      const listed = JSON.parse(index()) as { templates: { name: string; files: Record<string, number> }[] };
      for (const t of listed.templates)
        for (const file of Object.keys(t.files))
          this.emitFile({
            type: 'asset',
            fileName: `templates/${t.name}/${file}`,
            source: readFileSync(join(root, t.name, ...file.split('/'))),
          });
      this.emitFile({ type: 'asset', fileName: 'templates/index.json', source: index() });
    },
  };
}

const host = '127.0.0.1';
const port = Number(process.env.PORT ?? 5173);
const previewPort = Number(process.env.PORT ?? 4173);

export default defineConfig({
  plugins: [react(), shellFileList(), converterTemplates()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
    // bench.html: the benchmark page (bench/browser/page.ts), built beside the app so it runs the same worker.
    // sw: the app shell's service worker, at the site root (its scope) under a fixed name.
    rolldownOptions: {
      input: { main: 'index.html', bench: 'bench.html', sw: 'src/shell/serviceWorker.ts' },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
  // The dev server injects inline HMR scripts, so the CSP is enforced on the built app only.
  server: { host, port, strictPort: false, headers: isolation },
  preview: {
    host,
    port: previewPort,
    strictPort: false,
    headers: { ...isolation, 'Content-Security-Policy': contentSecurityPolicy },
  },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
