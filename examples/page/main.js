/**
 * The smallest page that edits with EditMGT: load a package, edit a canvas, draw the result.
 * `?model=<package URL>&device=webgpu|wasm&dtype=fp32|q8|…` choose the package (default: the tiny
 * test package served beside the page), the backend (default: WebGPU when the browser has it) and
 * the graphs' dtype (default: the best the backend runs).
 */
import { EditMGT } from '@editmgt/engine/web';

const params = new URLSearchParams(location.search);
const model = params.get('model') ?? '/models/tiny-random/';
const device = params.get('device') ?? 'auto';
const dtype = params.get('dtype') ?? 'auto';
const log = (line) => (document.getElementById('log').textContent = line);

// a gradient to edit (any ImageData works: a photo drawn on the canvas, a video frame…)
const source = document.getElementById('source').getContext('2d');
const gradient = source.createLinearGradient(0, 0, 96, 64);
gradient.addColorStop(0, '#3070d0');
gradient.addColorStop(1, '#d0a040');
source.fillStyle = gradient;
source.fillRect(0, 0, 96, 64);

const editor = await EditMGT.fromPretrained(model, {
  device,
  dtype,
  onProgress: (p) => log(`loading ${Math.round((100 * p.loaded) / Math.max(1, p.total))}%`),
});
log(`ready on ${editor.backend.backend}, ${editor.dtype}`);
const run = document.getElementById('run');
run.disabled = false;

run.addEventListener('click', async () => {
  run.disabled = true;
  const started = performance.now();
  let steps = 0;
  const result = await editor.edit(
    source.getImageData(0, 0, 96, 64),
    document.getElementById('instruction').value,
    {
      seed: 1,
      onStep: (e) => log(`step ${(steps = e.step + 1)}/${e.steps}`),
    },
  );
  const { image } = result;
  document
    .getElementById('result')
    .getContext('2d')
    .putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  log(`done: ${steps} steps in ${Math.round(performance.now() - started)} ms`);
  // what a test reads back
  document.body.dataset.result = JSON.stringify({
    backend: editor.backend.backend,
    dtype: editor.dtype,
    steps,
    width: image.width,
    height: image.height,
    tokens: Array.from(result.tokens),
  });
  run.disabled = false;
});
