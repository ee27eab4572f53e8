#!/usr/bin/env node
/**
 * `npm test`: typecheck, lint, unit tests, the exporter's Python tests, then end-to-end tests in
 * Chromium. Runs every suite even when one fails, and ends with one line: "N passed, N failed".
 * SUITES=unit,e2e (comma-separated) runs a subset.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const results = resolve('test-results');
mkdirSync(results, { recursive: true });
rmSync(resolve(results, 'summary.txt'), { force: true }); // a crash must not leave an old summary
const only = process.env.SUITES ? new Set(process.env.SUITES.split(',')) : null;
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function run(cmd, args, env = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return { ok: r.status === 0, seconds: (Date.now() - started) / 1000 };
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The end-to-end tests drive the system Chromium (scripts/chromium.ts). When it is missing it is
 * installed from Debian's packages if we are root, else the message says how.
 */
function ensureChromium() {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!process.env.CHROMIUM_PATH && root && existsSync('/usr/bin/apt-get')) {
    console.log('--- Chromium is missing: installing Debian chromium');
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    if (
      run('apt-get', ['update', '-qq'], env).ok &&
      run('apt-get', ['install', '-y', '-qq', 'chromium'], env).ok &&
      existsSync(path)
    )
      return true;
  }
  console.error(
    `the end-to-end tests need Chromium at ${path}: install Debian's package (sudo apt-get install chromium) ` +
      'or set CHROMIUM_PATH to a Chromium 113+ binary',
  );
  return false;
}

/**
 * The exporter's venv, made when missing (and refreshed when its pins change), once per run:
 * after `npm install`, `npm test` is the only command a newcomer needs.
 */
let venvResult = null;
function ensureVenv() {
  if (venvResult) return venvResult;
  venvResult = run('bash', ['tools/export/setup.sh']);
  if (!venvResult.ok)
    console.error(
      'could not prepare the Python venv (tools/export/setup.sh): Python 3.11 and access to PyPI are needed',
    );
  return venvResult;
}

/** Each suite returns {passed, failed, skipped}; a crash with no report counts as one failure. */
const suites = {
  typecheck: () => {
    const r = run(npx, ['tsc', '-b']);
    return { passed: r.ok ? 1 : 0, failed: r.ok ? 0 : 1, skipped: 0, seconds: r.seconds };
  },
  // Four checks, each counted: eslint (with the dependency rule), Prettier's formatting, and
  // ruff's lint and formatting of the Python (tools/, bench/python; ruff lives in the venv).
  lint: () => {
    const checks = [
      run(npx, ['eslint', '.', '--max-warnings=0']),
      run(npx, ['prettier', '--check', '--log-level=warn', '.']),
    ];
    const venv = ensureVenv();
    const ruff = resolve('tools/export/.venv/bin/ruff');
    checks.push(
      venv.ok ? run(ruff, ['check', '.']) : venv,
      venv.ok ? run(ruff, ['format', '--check', '.']) : venv,
    );
    const passed = checks.filter((c) => c.ok).length;
    return {
      passed,
      failed: checks.length - passed,
      skipped: 0,
      seconds: checks.reduce((s, c) => s + c.seconds, 0),
    };
  },
  unit: () => {
    const file = resolve(results, 'unit.json');
    const r = run(npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${file}`]);
    const j = readJson(file);
    if (!j) return { passed: 0, failed: 1, skipped: 0, seconds: r.seconds };
    const failed = j.numFailedTests + (r.ok || j.numFailedTests ? 0 : 1);
    return {
      passed: j.numPassedTests,
      failed,
      skipped: j.numPendingTests + j.numTodoTests,
      seconds: r.seconds,
    };
  },
  python: () => {
    const setup = ensureVenv();
    if (!setup.ok) return { passed: 0, failed: 1, skipped: 0, seconds: setup.seconds };
    const file = resolve(results, 'python.xml');
    const r = run('bash', ['tools/export/run_tests.sh', `--junitxml=${file}`]);
    if (!existsSync(file)) return { passed: 0, failed: 1, skipped: 0, seconds: r.seconds };
    const xml = readFileSync(file, 'utf8');
    const attr = (name) =>
      [...xml.matchAll(new RegExp(`<testsuite [^>]*${name}="(\\d+)"`, 'g'))].reduce(
        (s, m) => s + Number(m[1]),
        0,
      );
    const tests = attr('tests');
    const failed = attr('failures') + attr('errors');
    const skipped = attr('skipped');
    return {
      passed: tests - failed - skipped,
      failed: failed + (r.ok || failed ? 0 : 1),
      skipped,
      seconds: r.seconds,
    };
  },
  e2e: () => {
    if (!ensureChromium()) return { passed: 0, failed: 1, skipped: 0, seconds: 0 };
    const build = run(npx, ['vite', 'build', '--logLevel=warn']);
    if (!build.ok) return { passed: 0, failed: 1, skipped: 0, seconds: build.seconds };
    const r = run(npx, ['playwright', 'test']);
    const j = readJson(resolve(results, 'e2e.json'));
    if (!j) return { passed: 0, failed: 1, skipped: 0, seconds: r.seconds };
    const s = j.stats;
    const failed = s.unexpected + s.flaky + (r.ok || s.unexpected ? 0 : 1);
    return { passed: s.expected, failed, skipped: s.skipped, seconds: r.seconds + build.seconds };
  },
};

const totals = { passed: 0, failed: 0, skipped: 0 };
const rows = [];
for (const [name, suite] of Object.entries(suites)) {
  if (only && !only.has(name)) continue;
  console.log(`\n=== ${name} ===`);
  const r = suite();
  rows.push({ name, ...r });
  totals.passed += r.passed;
  totals.failed += r.failed;
  totals.skipped += r.skipped;
}
console.log('\nsuite        passed  failed  skipped  seconds');
for (const r of rows) {
  console.log(
    `${r.name.padEnd(12)} ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}  ${r.seconds.toFixed(1).padStart(7)}`,
  );
}
if (totals.skipped)
  console.log(
    `\n${totals.skipped} skipped (tests that do not apply here, e.g. fp16 kernels without shader-f16)`,
  );
const summary = `${totals.passed} passed, ${totals.failed} failed`;
writeFileSync(resolve(results, 'summary.txt'), `${summary}\n`);
console.log(`\n${summary}`);
process.exit(totals.failed > 0 ? 1 : 0);
