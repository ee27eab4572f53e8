/**
 * Memory policies (packages too big to hold every graph at once): the edit is unchanged, and the
 * sessions that exist at each moment are the ones the policy allows, at load and during edits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../image';
import { GRAPH_NAMES } from '../../manifest';
import { memoryPolicy, MEMORY_PHASED_BYTES, MEMORY_TIGHT_BYTES } from '../../package';
import type { PackageRunner } from '../../package';
import type { EditRequest } from '../../pipeline';
import type { GraphName, GraphRunner } from '../../ports';
import { cpuOptions, packageSource } from './modelPackage';
import { Editor } from '../../editor';
import type { OrtNodeRunner } from './ortNodeRunner';
import { TINY } from './testing/testModel';

function photo(w: number, h: number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      data.set([(x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256, 255], (y * w + x) * 4);
  return { width: w, height: h, data };
}

const TEXT: readonly GraphName[] = ['text_clip', 'text_llm'];
const IMAGE: readonly GraphName[] = ['vq_encode', 'transformer_step', 'vq_decode'];

/**
 * A runner wrapper (the opener's `wrapRunner`) recording for every run which other graphs had a
 * session at that moment (`runner()`: the package's own runner, which knows what is open).
 */
function watched(runner: () => Editor<OrtNodeRunner>['runner']): {
  wrap: (inner: PackageRunner) => GraphRunner;
  openDuring: Map<GraphName, Set<GraphName>>;
} {
  const openDuring = new Map<GraphName, Set<GraphName>>();
  const wrap = (inner: PackageRunner): GraphRunner => ({
    run: (graph, feeds, signal) => {
      const seen = openDuring.get(graph) ?? new Set<GraphName>();
      for (const g of GRAPH_NAMES) if (g !== graph && runner().isOpen(g)) seen.add(g);
      openDuring.set(graph, seen);
      return inner.run(graph, feeds, signal);
    },
    releaseGraph: (g) => inner.releaseGraph(g),
  });
  return { wrap, openDuring };
}

describe('memory policies', () => {
  let plain: Editor<OrtNodeRunner>;
  let tight: Editor<OrtNodeRunner>;
  let phased: Editor<OrtNodeRunner>;
  const req: EditRequest = {
    image: photo(40, 32),
    prompt: 'make the square red',
    steps: 4,
    seed: 11,
    hold: 0.1,
  };
  const tightWatch = watched(() => tight.runner);
  const phasedWatch = watched(() => phased.runner);
  beforeAll(async () => {
    plain = await Editor.open(packageSource(TINY), cpuOptions('fp32'));
    tight = await Editor.open(
      packageSource(TINY),
      cpuOptions('fp32', { memory: 'release-text', wrapRunner: tightWatch.wrap }),
    );
    phased = await Editor.open(
      packageSource(TINY),
      cpuOptions('fp32', { memory: 'phased', wrapRunner: phasedWatch.wrap }),
    );
  });
  afterAll(async () => {
    for (const p of [plain, tight, phased]) await p?.runner.release();
  });

  it('follows the package size: all, then release-text over 1 GiB, then phased over 2 GiB', () => {
    expect(memoryPolicy(50e6)).toBe('all');
    expect(memoryPolicy(MEMORY_TIGHT_BYTES + 1)).toBe('release-text');
    expect(memoryPolicy(MEMORY_PHASED_BYTES)).toBe('release-text');
    expect(memoryPolicy(MEMORY_PHASED_BYTES + 1)).toBe('phased');
    expect(memoryPolicy(3.2e9)).toBe('phased');
  });

  it('at load makes and checks each graph once, in order, and keeps what the policy keeps', () => {
    for (const p of [plain, tight, phased]) expect(p.runner.opened).toEqual([...GRAPH_NAMES]);
    expect(GRAPH_NAMES.filter((g) => plain.runner.isOpen(g))).toEqual([...GRAPH_NAMES]);
    expect(GRAPH_NAMES.filter((g) => tight.runner.isOpen(g))).toEqual(
      GRAPH_NAMES.filter((g) => IMAGE.includes(g)),
    );
    expect(GRAPH_NAMES.filter((g) => phased.runner.isOpen(g))).toEqual([]);
    expect([plain.memory, tight.memory, phased.memory]).toEqual(['all', 'release-text', 'phased']);
  });

  it('release-text: the same edit, no text encoder while sampling, reloaded for a new prompt', async () => {
    const reference = await plain.engine.edit(req);
    const { openDuring } = tightWatch;
    const engine = tight.engine;
    const first = await engine.edit(req);
    expect([...first.tokens]).toEqual([...reference.tokens]);
    for (const g of IMAGE) expect([...openDuring.get(g)!].filter((o) => TEXT.includes(o))).toEqual([]);
    // The same prompt again: encodings come from the cache, nothing is reopened.
    const before = tight.runner.opened.length;
    await engine.edit(req);
    expect(tight.runner.opened.length).toBe(before);
    // A new prompt: the encoders load again (beside the image graphs), and are freed again.
    await engine.edit({ ...req, prompt: 'remove the circle' });
    expect(tight.runner.opened.slice(before)).toEqual(['text_clip', 'text_llm']);
    expect(tight.runner.isOpen('text_llm')).toBe(false);
    expect(tight.runner.isOpen('transformer_step')).toBe(true);
  }, 120_000);

  it('phased: the same edit, and text encoders and image graphs never open together', async () => {
    const reference = await plain.engine.edit({ ...req, prompt: 'turn it blue' });
    const { openDuring } = phasedWatch;
    const engine = phased.engine;
    const first = await engine.edit({ ...req, prompt: 'turn it blue' });
    expect([...first.tokens]).toEqual([...reference.tokens]);
    await engine.edit({ ...req, prompt: 'make the square red' });
    for (const g of TEXT) expect([...openDuring.get(g)!].filter((o) => IMAGE.includes(o))).toEqual([]);
    for (const g of IMAGE) expect([...openDuring.get(g)!].filter((o) => TEXT.includes(o))).toEqual([]);
    // A cached prompt opens no text encoder and does not free the image graphs (the source
    // image's tokens are cached too, so only the sampling graphs run).
    const before = phased.runner.opened.length;
    await engine.edit({ ...req, prompt: 'turn it blue' });
    expect(phased.runner.opened.length).toBe(before);
    expect(phased.runner.isOpen('transformer_step') && phased.runner.isOpen('vq_decode')).toBe(true);
  }, 120_000);
});
