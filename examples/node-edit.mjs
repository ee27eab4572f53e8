#!/usr/bin/env node
/**
 * Edits a picture with EditMGT in node, through the published package only:
 *
 *   node examples/node-edit.mjs [model folder or URL] [instruction]
 *
 * The model defaults to the tiny test package this repository ships (random weights: the output
 * is noise-like, but every graph runs). The settings left out take the package's own defaults.
 * Prints one JSON line: the output's size, the dtype, the steps run and a sha256 of the tokens.
 */
import { createHash } from 'node:crypto';
import { EditMGT } from '@editmgt/engine/node';

const [model = 'public/models/tiny-random', instruction = 'make the sky purple'] = process.argv.slice(2);

// a 96×64 gradient: ImageData-like, RGBA bytes
const width = 96;
const height = 64;
const data = new Uint8ClampedArray(width * height * 4);
for (let y = 0; y < height; y++)
  for (let x = 0; x < width; x++)
    data.set([(x * 255) / width, (y * 255) / height, 128, 255], (y * width + x) * 4);

const editor = await EditMGT.fromPretrained(model, { device: 'cpu', dtype: 'fp32' });
let steps = 0;
const result = await editor.edit({ width, height, data }, instruction, { seed: 1, onStep: () => steps++ });
await editor.dispose();

const tokens = createHash('sha256').update(new Uint8Array(result.tokens.buffer)).digest('hex');
console.log(
  JSON.stringify({
    width: result.image.width,
    height: result.image.height,
    dtype: editor.dtype,
    steps,
    tokens,
  }),
);
