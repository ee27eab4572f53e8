/**
 * What a newcomer sees after `npm start`: the page opens on the trained shapes model (no link
 * naming a model), and an edit from its held-out test set changes the picture where the
 * instruction says and keeps the rest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { test, expect } from './fixtures';

const testset = join('tools', 'shapes', 'testset');
interface Pair {
  id: string;
  kind: string;
  instruction: string;
  source: string;
  mask: string;
}
const pairs = (JSON.parse(readFileSync(join(testset, 'index.json'), 'utf8')) as { pairs: Pair[] }).pairs;
/** A removal: the kind this small model does reliably (docs/shapes.md). */
const pair = pairs.find((p) => p.kind === 'remove')!;

function png(bytes: Buffer): PNG {
  return PNG.sync.read(bytes);
}

/** Mean absolute RGB change per pixel inside and outside the mask (mask white = edit region). */
function changeInOut(before: PNG, after: PNG, mask: PNG): { inside: number; outside: number } {
  let inside = 0;
  let outside = 0;
  let nIn = 0;
  let nOut = 0;
  for (let i = 0; i < before.width * before.height; i++) {
    let d = 0;
    for (let c = 0; c < 3; c++) d += Math.abs(before.data[i * 4 + c]! - after.data[i * 4 + c]!);
    if (mask.data[i * 4]! > 127) {
      inside += d;
      nIn++;
    } else {
      outside += d;
      nOut++;
    }
  }
  return { inside: inside / Math.max(1, nIn), outside: outside / Math.max(1, nOut) };
}

test('opens on the shapes model, and its edit changes the region the instruction names @wasm', async ({
  ui,
  page,
}) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await page.waitForFunction(() => window.__editmgt !== undefined);
  await expect.poll(async () => (await ui.snapshot()).model?.name, { timeout: 90_000 }).toBe('shapes');
  // WASM: SwiftShader's emulated WebGPU takes seconds a step.
  await page.getByTestId('backend-select').selectOption('wasm');
  await expect.poll(async () => (await ui.snapshot()).model?.backend, { timeout: 90_000 }).toBe('wasm');
  await ui.expectState('ready');
  await ui.fileInput.setInputFiles(join(testset, pair.source));
  await expect.poll(async () => (await ui.snapshot()).image).not.toBeNull();
  await ui.instruction.fill(pair.instruction);
  await ui.runButton.click();
  await ui.waitForDone();
  await ui.documentState('shapes-edit-done');
  const download = await ui.download();
  const after = png(readFileSync(await download.path()));
  const before = png(readFileSync(join(testset, pair.source)));
  const mask = png(readFileSync(join(testset, pair.mask)));
  expect([after.width, after.height]).toEqual([before.width, before.height]);
  const change = changeInOut(before, after, mask);
  test.info().annotations.push({
    type: 'change',
    description: `${pair.id} (${pair.kind}) inside ${change.inside.toFixed(1)}, outside ${change.outside.toFixed(1)}`,
  });
  expect(change.inside).toBeGreaterThan(3 * change.outside);
});
