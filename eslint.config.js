import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

// The dependency rule (each folder's README states its part), enforced per folder:
//   engine   imports nothing of ours but itself (no DOM, no React, no onnxruntime, no Math.random)
//            except its runtime entries: src/engine/runtime/node (onnxruntime-node, node APIs) and
//            src/engine/runtime/web (onnxruntime-web, browser/worker globals), the only importers
//            of onnxruntime in the repository
//   protocol may import engine types
//   workers, cli may import engine and protocol; they reach onnxruntime through the runtime entries
//            (src/protocol also holds the worker's client, which the app and the benchmark page use)
//   app      imports protocol (and its client) and pure engine helpers, never onnxruntime
//   bench    the benchmark page (bench/browser/page*.ts) reaches the worker through src/protocol/engineClient only
const onnxruntime = {
  group: ['onnxruntime-*', 'onnxruntime-web/*'],
  message: 'Only src/engine/runtime/node and src/engine/runtime/web import onnxruntime.',
};
const ortNode = {
  group: ['onnxruntime-node', 'onnxruntime-node/*'],
  message: 'onnxruntime-node is imported by src/engine/runtime/node only.',
};
const ortWeb = {
  group: ['onnxruntime-web', 'onnxruntime-web/*', 'onnxruntime-common'],
  message: 'onnxruntime-web is imported by src/engine/runtime/web only.',
};
const nodeApis = { group: ['node:*', 'fs', 'path'], message: 'The engine is pure: no node APIs.' };
const engineSelf = { group: ['**/protocol/**'], message: 'The engine imports nothing of ours but itself.' };
const appCode = {
  group: ['**/app/**', '**/src/app/*'],
  message: 'The UI is not a dependency of the engine, protocol, workers or cli.',
};
const workerCode = {
  group: ['**/workers/**'],
  message: 'workers/ is reached through the protocol, not imported.',
};
const cliCode = { group: ['**/cli/**'], message: 'cli/ is an entry point, not a library.' };
// Hosts reach the engine through its entries only (src/engine/README.md): the package's
// index, runtime/node/index and runtime/web/index, and the repository's own internal,
// runtime/node/internal and runtime/web/internal.
const engineDeep = {
  regex:
    '^(\\.\\.?/)+(src/)?engine/(?!(index|internal|runtime/node/index|runtime/node/internal|runtime/web/index|runtime/web/internal)$)',
  message:
    'Import the engine from its entries: src/engine/index.ts, internal.ts, runtime/node/index.ts, runtime/node/internal.ts, runtime/web/index.ts or runtime/web/internal.ts.',
};
const react = {
  group: ['react', 'react-dom', 'react-dom/*', 'zustand'],
  message: 'React lives in src/app only.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '**/dist/**',
      'node_modules/**',
      // tools/ is mostly Python and data; its TypeScript is linted like the rest
      'tools/**/.venv/**',
      'tools/**/.cache/**',
      'public/**',
      'test-results/**',
      'playwright-report/**',
      'e2e/.output/**',
      '.tsc/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.es2022 } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    ignores: ['src/engine/**/*.test.ts', 'src/engine/build/**', 'src/engine/runtime/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [onnxruntime, appCode, workerCode, cliCode, react, engineSelf, nodeApis] },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'self', 'fetch', 'localStorage'],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Randomness is an input: take an Rng.' },
      ],
    },
  },
  {
    // the engine on onnxruntime-node: node APIs, never onnxruntime-web
    files: ['src/engine/runtime/node/**/*.ts'],
    ignores: ['**/*.test.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [ortWeb, appCode, workerCode, cliCode, react, engineSelf] },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Randomness is an input: take an Rng.' },
      ],
    },
  },
  {
    // the engine on onnxruntime-web, in a page or a worker: no node APIs, never onnxruntime-node
    files: ['src/engine/runtime/web/**/*.ts'],
    ignores: ['**/*.test.ts'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker } },
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [ortNode, appCode, workerCode, cliCode, react, engineSelf, nodeApis] },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Randomness is an input: take an Rng.' },
      ],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [onnxruntime, appCode, cliCode, workerCode, react, engineDeep] },
      ],
    },
  },
  {
    files: ['bench/browser/page*.ts', 'bench/fullsize/page*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [onnxruntime, appCode, cliCode, workerCode, react, engineDeep] },
      ],
    },
  },
  {
    files: ['src/app/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            onnxruntime,
            cliCode,
            {
              regex: '^(\\.\\.?/)+engine/(?!(index|internal)$)',
              message:
                'The app imports the engine from src/engine/index.ts and internal.ts only (never a runtime entry: no onnxruntime in its bundle).',
            },
            {
              group: ['**/workers/*', '!**/workers/*?worker'],
              message: 'The UI talks to the worker through src/protocol/engineClient only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['workers/**/*.ts'],
    languageOptions: { globals: { ...globals.worker } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [onnxruntime, appCode, cliCode, react, engineDeep] }],
    },
  },
  {
    files: [
      'cli/**/*.ts',
      'bench/**/*.ts',
      'src/engine/build/**/*.ts',
      'scripts/**/*.{js,mjs,ts}',
      'e2e/**/*.ts',
      'examples/*.{js,mjs}',
      'examples/**/vite.config.mjs',
      '*.config.{js,ts}',
      '**/*.test.ts',
    ],
    ignores: ['bench/browser/page*.ts', 'bench/fullsize/page*.ts'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['examples/page/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // outside src/engine/runtime nothing imports onnxruntime (the workers' rule above says it for workers/)
    files: [
      'cli/**/*.ts',
      'bench/**/*.ts',
      'scripts/**/*.{js,mjs,ts}',
      'e2e/**/*.ts',
      'examples/**/*.{js,mjs,ts}',
      'src/shell/**/*.ts',
    ],
    ignores: ['bench/browser/page*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [onnxruntime] }] },
  },
  {
    // hosts reach the engine through its entries only
    files: ['cli/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts', 'e2e/**/*.ts', 'scripts/**/*.{js,mjs,ts}'],
    ignores: ['bench/browser/page*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [onnxruntime, engineDeep] }] },
  },
  {
    // One front door: outside the engine a ready engine comes from `Editor.open` (or a runtime
    // entry's fromPretrained, which calls it), never from re-assembling an EditEngine.
    files: ['**/*.{ts,tsx,js,mjs}'],
    ignores: [
      'src/engine/**',
      // tests of the engine itself that build engines on runners of their own around an opened
      // package's: the goldens' parity (the raw engine, no memory policy), and engines whose
      // runners count calls and capture feeds
      'src/engine/runtime/node/parity.test.ts',
      'src/engine/runtime/node/engine.test.ts',
      // the engine's own time per step against a runner with the graphs taken out: no package
      'bench/node/engineOverhead.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='EditEngine']",
          message:
            'Open a model through Editor.open (or fromPretrained) and use its engine; its options cover now, memory, wrapRunner and beforeSessions.',
        },
      ],
    },
  },
);
