import { createHash } from 'node:crypto';
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

const host = '127.0.0.1';
const port = Number(process.env.PORT ?? 5173);
const previewPort = Number(process.env.PORT ?? 4173);

export default defineConfig({
  plugins: [react(), shellFileList()],
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
