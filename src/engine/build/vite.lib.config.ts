/** The engine package's JavaScript: one ES module per public entry, runtimes left as imports. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  build: {
    target: 'es2022',
    outDir: here('../dist'),
    emptyOutDir: false,
    sourcemap: true,
    minify: false,
    lib: { entry: { index: here('../index.ts') }, formats: ['es'] },
    rolldownOptions: { external: [/^onnxruntime-/, /^node:/] },
  },
});
