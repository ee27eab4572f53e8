// Builds the page example: `npx vite build --config examples/page/vite.config.mjs` (then
// `vite preview` with the same config). The repository's public/ folder is served beside it, so
// /models/tiny-random/ is there. No imports: the config loads from any folder.
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export default {
  root: here('.'),
  publicDir: here('../../public'),
  build: { outDir: here('dist'), emptyOutDir: true, target: 'es2022' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  logLevel: 'warn',
};
