/**
 * The engine package's JavaScript: one ES module per entry (the engine, the engine on
 * onnxruntime-node and on onnxruntime-web, and the repository's own hosts' internal entries),
 * shared code in chunks; the runtimes and the tokenizer
 * library stay imports, resolved from the consumer's dependencies.
 */
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
    lib: {
      entry: {
        index: here('../index.ts'),
        node: here('../runtime/node/index.ts'),
        web: here('../runtime/web/index.ts'),
        internal: here('../internal.ts'),
        'node-internal': here('../runtime/node/internal.ts'),
        'web-internal': here('../runtime/web/internal.ts'),
      },
      formats: ['es'],
    },
    rolldownOptions: { external: [/^onnxruntime-/, /^node:/, /^@huggingface\/tokenizers/] },
  },
});
