import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

// The dependency rule (each folder's README states its part), enforced per folder:
//   engine   imports nothing of ours but itself (no DOM, no React, no onnxruntime, no Math.random)
//   protocol may import engine types
//   workers, cli may import engine and protocol, and are the only importers of onnxruntime
//   client   the worker's client (src/client): protocol only; the app and the benchmark page use it
//   app      imports client, protocol and pure engine helpers, never onnxruntime
//   bench    the benchmark page (bench/browser/page*.ts) reaches the worker through src/client only
const onnxruntime = { group: ['onnxruntime-*', 'onnxruntime-web/*'], message: 'Only workers/ and cli/ import onnxruntime.' };
const appCode = { group: ['**/app/**', '**/src/app/*'], message: 'The UI is not a dependency of the engine, protocol, workers or cli.' };
const workerCode = { group: ['**/workers/**'], message: 'workers/ is reached through the protocol, not imported.' };
const cliCode = { group: ['**/cli/**'], message: 'cli/ is an entry point, not a library.' };
const react = { group: ['react', 'react-dom', 'react-dom/*', 'zustand'], message: 'React lives in src/app only.' };

export default tseslint.config(
  { ignores: ['dist/**', '**/dist/**', 'node_modules/**', 'tools/**', 'public/**', 'test-results/**', 'playwright-report/**', 'e2e/.output/**'] },
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
    ignores: ['src/engine/**/*.test.ts', 'src/engine/build/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [onnxruntime, appCode, workerCode, cliCode, react, { group: ['**/protocol/**'], message: 'The engine imports nothing of ours but itself.' }, { group: ['node:*', 'fs', 'path'], message: 'The engine is pure: no node APIs.' }] }],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'self', 'fetch', 'localStorage'],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Randomness is an input: take an Rng.' }],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [onnxruntime, appCode, workerCode, cliCode, react] }] },
  },
  {
    files: ['src/client/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', { patterns: [onnxruntime, appCode, cliCode, workerCode, react] }] },
  },
  {
    files: ['bench/browser/page*.ts', 'bench/fullsize/page*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', { patterns: [onnxruntime, appCode, cliCode, workerCode, react] }] },
  },
  {
    files: ['src/app/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', { patterns: [onnxruntime, cliCode, { group: ['**/workers/*', '!**/workers/*?worker'], message: 'The UI talks to the worker through src/client/engineClient only.' }] }],
    },
  },
  {
    files: ['workers/**/*.ts'],
    languageOptions: { globals: { ...globals.worker } },
    rules: { 'no-restricted-imports': ['error', { patterns: [appCode, cliCode, react] }] },
  },
  {
    files: ['cli/**/*.ts', 'bench/**/*.ts', 'src/engine/build/**/*.ts', 'scripts/**/*.{js,mjs,ts}', 'e2e/**/*.ts', '*.config.{js,ts}', '**/*.test.ts'],
    ignores: ['bench/browser/page*.ts', 'bench/fullsize/page*.ts'],
    languageOptions: { globals: { ...globals.node } },
  },
);
