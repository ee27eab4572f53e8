/**
 * Parity with the PyTorch reference: replaying the golden uniforms through the real tiny ONNX
 * graphs on onnxruntime-node, the engine must give identical drawn, re-masked and final ids
 * at every step (fp32), attention within tolerance, pixels within 1/255, and the Python
 * tokenizers' ids. Goldens: tools/export/goldens/tiny-random (see its index.json).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rgbaToChw } from '../../image';
import type { RgbaImage } from '../../image';
import { EditEngine } from '../../pipeline';
import type { StepEvent } from '../../pipeline';
import { replayRng } from '../../rng';
import { temperatureSchedule } from '../../scheduler';
import { makeTensor } from '../../tensor';
import { clipTokens } from '../../textEncoder';
import type { AnyTensor } from '../../tensor';
import { Goldens } from './testing/goldens';
import { decodeImage } from '../../../../cli/imageIO';
import { cpuOptions, packageSource } from './modelPackage';
import { Editor } from '../../editor';
import type { OrtNodeRunner } from './ortNodeRunner';
import { GOLDENS, hasGoldens, hasTiny, TINY } from './testing/testModel';
import { readFileSync } from 'node:fs';

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function indices(mask: Uint8Array): number[] {
  const out: number[] = [];
  mask.forEach((v, i) => v && out.push(i));
  return out;
}

describe.skipIf(!hasTiny || !hasGoldens)('parity with the PyTorch reference (tiny-random, fp32)', () => {
  const g = hasGoldens ? new Goldens(GOLDENS) : (undefined as never);
  const tol = hasGoldens ? g.index.tolerances : (undefined as never);
  let pkg: Editor<OrtNodeRunner>;
  beforeAll(async () => {
    pkg = await Editor.open(packageSource(TINY), cpuOptions('fp32'));
  });
  afterAll(async () => pkg?.runner.release());

  it('tokenizer ids equal the Python tokenizers on every golden prompt', () => {
    for (const [name, text] of Object.entries(g.index.prompts)) {
      const clip = clipTokens(pkg.tokenizers.clip, text, pkg.spec.clip.maxLength);
      const llm = pkg.tokenizers.llm.encode(text, pkg.spec.llm.maxLength);
      expect(Array.from(clip.ids), `${name} clip`).toEqual(Array.from(g.i32(`tokenizer/${name}/clip_ids`)));
      expect(Array.from(llm.ids), `${name} llm`).toEqual(Array.from(g.i32(`tokenizer/${name}/llm_ids`)));
      expect(Array.from(llm.attentionMask), `${name} mask`).toEqual(
        Array.from(g.i32(`tokenizer/${name}/llm_attention_mask`)),
      );
    }
  });

  it('text encoders match', async () => {
    for (const [name, text] of [
      ['plain', g.index.prompts['plain']!],
      ['negative', g.index.negative_prompt],
    ] as const) {
      const ids = clipTokens(pkg.tokenizers.clip, text, pkg.spec.clip.maxLength).ids;
      const clip = await pkg.runner.run('text_clip', {
        input_ids: makeTensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      });
      expect(
        maxAbs(clip['text_embeds']!.data as Float32Array, g.f32(`text/${name}/text_embeds`)),
      ).toBeLessThan(tol.float_abs);
      const llmIds = pkg.tokenizers.llm.encode(text, pkg.spec.llm.maxLength).ids;
      const llm = await pkg.runner.run('text_llm', {
        input_ids: makeTensor('int64', BigInt64Array.from(llmIds, BigInt), [1, llmIds.length]),
        attention_mask: makeTensor('int64', new BigInt64Array(llmIds.length).fill(1n), [1, llmIds.length]),
      });
      expect(
        maxAbs(llm['hidden_states']!.data as Float32Array, g.f32(`text/${name}/hidden_states`)),
      ).toBeLessThan(tol.float_abs);
    }
  });

  it('the source image: pixels, VQ ids, decoded pixels', async () => {
    const png: RgbaImage = decodeImage(readFileSync(`${GOLDENS}/image/source.png`));
    const pixels = g.f32('image/pixels');
    expect(maxAbs(rgbaToChw(png), pixels)).toBeLessThan(1e-6);
    const enc = await pkg.runner.run('vq_encode', { pixels: makeTensor('float32', pixels, [1, 3, 64, 64]) });
    expect(Array.from(enc['ids']!.data as Int32Array)).toEqual(Array.from(g.i32('image/vq_ids')));
    const dec = await pkg.runner.run('vq_decode', {
      ids: makeTensor('int32', g.i32('image/vq_ids'), [1, 16, 16]),
    });
    expect(maxAbs(dec['pixels']!.data as Float32Array, g.f32('image/decoded'))).toBeLessThan(tol.pixels_abs);
  });

  it('one transformer step on the stored inputs', async () => {
    const feeds: Record<string, AnyTensor> = {};
    for (const name of [
      'tokens',
      'ref_tokens',
      'text_states',
      'pooled',
      'micro_conds',
      'timestep',
      'guidance_scale',
      'ref_bias',
      'text_weights',
      'uniforms',
    ]) {
      const key = `step/inputs/${name}`;
      const a = g.index.arrays[key]!;
      feeds[name] =
        a.dtype === 'int32'
          ? makeTensor('int32', g.i32(key), a.shape)
          : makeTensor('float32', g.f32(key), a.shape);
    }
    const out = await pkg.runner.run('transformer_step', feeds);
    expect(Array.from(out['drawn_ids']!.data as Int32Array)).toEqual(
      Array.from(g.i32('step/outputs/drawn_ids')),
    );
    expect(maxAbs(out['drawn_probs']!.data as Float32Array, g.f32('step/outputs/drawn_probs'))).toBeLessThan(
      tol.float_abs,
    );
    expect(maxAbs(out['ref_probs']!.data as Float32Array, g.f32('step/outputs/ref_probs'))).toBeLessThan(
      tol.float_abs,
    );
    expect(maxAbs(out['attention']!.data as Float32Array, g.f32('step/outputs/attention'))).toBeLessThan(
      tol.attention_abs,
    );
  });

  for (const name of [
    'edit_hold_off',
    'edit_hold_on',
    'edit_mask',
    'edit_guidance_half',
    'edit_guidance_one',
  ]) {
    it(`${name}: identical ids at every step, attention and pixels within tolerance`, async () => {
      const c = g.index.cases[name]!;
      const steps = c.steps;
      const seq = 256;
      const engine = new EditEngine({ runner: pkg.runner, tokenizers: pkg.tokenizers, spec: pkg.spec });
      const pixels = g.f32('image/pixels');
      const image = decodeImage(readFileSync(`${GOLDENS}/image/source.png`));
      const events: StepEvent[] = [];
      expect(Array.from(temperatureSchedule(steps, c.temperature[0], c.temperature[1]))).toEqual(
        Array.from(g.f32(`${name}/temperatures`)),
      );
      const res = await engine.edit(
        {
          image,
          prompt: c.prompt,
          negativePrompt: c.negative_prompt === 'default' ? g.index.negative_prompt : c.negative_prompt,
          steps,
          guidance: c.guidance_scale,
          referenceStrength: c.reference_strength,
          hold: c.region_hold,
          mask: c.mask ? g.u8(`${name}/mask`) : undefined,
          composite: false,
          replay: {
            modelPixels: pixels,
            schedule: c.schedule,
            rng: replayRng(
              g.rows(g.f32('uniforms/draw_u'), steps),
              g.rows(g.f32('uniforms/gumbel_u'), steps),
            ),
          },
        },
        { onStep: (e) => events.push(e) },
      );
      expect(Array.from(res.sourceTokens)).toEqual(Array.from(g.i32(`${name}/source_ids`)));
      const sampled = g.rows(g.i32(`${name}/sampled_ids`), steps);
      const remasked = g.rows(g.u8(`${name}/remasked`), steps);
      const after = g.rows(g.i32(`${name}/tokens_after`), steps);
      const hold = g.rows(g.u8(`${name}/hold_mask`), steps);
      const smoothed = g.rows(g.f32(`${name}/attention_smoothed`), steps);
      const scores = g.rows(g.f32(`${name}/token_scores`), steps);
      const maskLen = g.i32(`${name}/mask_len`);
      let worstAttention = 0;
      for (let i = 0; i < steps; i++) {
        const e = events[i]!;
        expect(Array.from(e.predicted), `step ${i} drawn ids`).toEqual(Array.from(sampled[i]!));
        expect(Array.from(e.remasked), `step ${i} re-masked`).toEqual(indices(remasked[i]!));
        expect(Array.from(e.tokens), `step ${i} tokens`).toEqual(Array.from(after[i]!));
        expect(Array.from(e.hold), `step ${i} hold`).toEqual(Array.from(hold[i]!));
        expect(e.maskLength, `step ${i} mask length`).toBe(maskLen[i]);
        worstAttention = Math.max(
          worstAttention,
          maxAbs(e.attentionGrid, smoothed[i]!),
          maxAbs(e.attention, scores[i]!),
        );
        expect(e.tokens.length).toBe(seq);
      }
      expect(worstAttention).toBeLessThan(1e-4);
      // not vacuous: steps re-mask, and region-hold acts when it is on
      expect(events[0]!.remasked.length).toBeGreaterThan(0);
      if (c.region_hold > 0) expect(events.some((e) => e.hold.some((v) => v === 1))).toBe(true);
      process.stdout.write(
        `${name}: worst attention diff ${worstAttention.toExponential(2)}, holds ${events.reduce((a, e) => a + e.hold.reduce((x, y) => x + y, 0), 0)}\n`,
      );
      expect(Array.from(res.tokens)).toEqual(Array.from(g.i32(`${name}/final_ids`)));
      // pixels: the engine's 8-bit image against the reference's float pixels, within 1/255
      const ref = g.f32(`${name}/pixels`);
      const mine = rgbaToChw(res.modelImage);
      expect(maxAbs(mine, ref)).toBeLessThanOrEqual(1 / 255 + 1e-6);
    });
  }
});
