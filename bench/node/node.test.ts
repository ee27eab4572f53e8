/**
 * A node benchmark case edits with the model package's own defaults, as the app's worker does:
 * for the shapes package guidance 2 and reference strength 3 from its manifest, not the engine's
 * fallbacks (6, 1.1). Checked two ways: the settings the run reports, and its final tokens
 * against an edit made here with the manifest's values (and unlike one with the fallbacks).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EditRequest } from '../../src/engine/index';
import { cpuOptions, Editor, packageSource } from '../../src/engine/runtime/node/index';
import { REPO } from '../../src/engine/runtime/node/internal';
import { benchImage } from '../benchImage';
import { fnv1a } from '../report/stats';
import { benchNode, PROMPTS } from './node';

const DIR = `${REPO}public/models/shapes`;
const STEPS = 2;

describe('node benchmark case settings', () => {
  it("edit the shapes package with its manifest's defaults, not the engine's fallbacks", async () => {
    const m = JSON.parse(readFileSync(`${DIR}/manifest.json`, 'utf8')) as {
      defaults: {
        guidance_scale: number;
        reference_strength: number;
        region_hold_lambda: number;
        region_hold_enabled: boolean;
      };
      negative_prompt: string;
    };
    const run = await benchNode({
      modelDir: DIR,
      dtype: 'fp32',
      steps: STEPS,
      warmSteps: 1,
      threads: 1,
      ...PROMPTS,
    });
    expect(run.status).toBe('ok');
    expect(run.settings).toEqual({
      guidance: m.defaults.guidance_scale,
      reference_strength: m.defaults.reference_strength,
      hold: m.defaults.region_hold_enabled ? m.defaults.region_hold_lambda : 0,
    });

    const pkg = await Editor.open(packageSource(DIR), cpuOptions('fp32'));
    try {
      const { engine } = pkg;
      const finalTokens = async (settings: Partial<EditRequest>) => {
        let last: Int32Array = new Int32Array();
        await engine.edit(
          { image: benchImage(pkg.spec.width), prompt: PROMPTS.prompt, steps: STEPS, seed: 1, ...settings },
          { onStep: (e) => (last = e.tokens) },
        );
        return fnv1a(new Uint8Array(last.buffer));
      };
      const withManifest = await finalTokens({
        guidance: m.defaults.guidance_scale,
        referenceStrength: m.defaults.reference_strength,
        hold: m.defaults.region_hold_enabled ? m.defaults.region_hold_lambda : 0,
        negativePrompt: m.negative_prompt,
      });
      const withFallbacks = await finalTokens({});
      // the two settings edit differently here, so the hash tells which one the case used
      expect(withFallbacks).not.toBe(withManifest);
      expect(run.tokens_hash).toBe(withManifest);
    } finally {
      await pkg.runner.release();
    }
  }, 120_000);
});
