import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkDeclaredShapes, checkGraphSignature } from './graphContract';
import { validateManifest } from './manifest';
import type { Manifest } from './manifest';
import { chooseDtype, graphDtype } from './package';

const manifest = validateManifest(
  JSON.parse(readFileSync(new URL('../../public/models/tiny-random/manifest.json', import.meta.url), 'utf8')),
);

/** The tiny manifest with only some dtypes. */
function only(...dtypes: string[]): Manifest {
  return {
    ...manifest,
    dtypes: Object.fromEntries(Object.entries(manifest.dtypes).filter(([d]) => dtypes.includes(d))),
  };
}

describe('chooseDtype: one policy for every host', () => {
  it('picks per device what runs best there, among what the package ships for it', () => {
    expect(chooseDtype(manifest, 'webgpu', 'auto', true)).toBe('q4f16');
    expect(chooseDtype(manifest, 'webgpu', 'auto', false)).toBe('q4');
    expect(chooseDtype(manifest, 'wasm')).toBe('q8');
    expect(chooseDtype(manifest, 'cpu')).toBe('fp32');
    expect(chooseDtype(only('fp16', 'q8'), 'cpu')).toBe('q8');
    expect(chooseDtype(only('fp32', 'fp16'), 'webgpu', 'auto', true)).toBe('fp16');
  });
  it('reads each graph’s own compute dtype: an f16 graph inside q4 needs shader-f16', () => {
    const mixed = structuredClone(manifest) as unknown as {
      dtypes: Record<string, { graphs: Record<string, { dtype?: string }> }>;
    };
    mixed.dtypes['q4']!.graphs['text_llm']!.dtype = 'fp16';
    const m = validateManifest(mixed);
    expect(graphDtype(m, 'q4', 'text_llm')).toBe('fp16');
    expect(graphDtype(m, 'q4', 'transformer_step')).toBe('q4');
    expect(chooseDtype(m, 'webgpu', 'auto', false)).toBe('fp32');
    expect(chooseDtype(m, 'webgpu', 'auto', true)).toBe('q4f16');
  });
  it('skips on WebGPU a dtype whose largest buffer is over the adapter’s limit, and says so when none fits', () => {
    const need = (d: 'q4' | 'q4f16' | 'fp16' | 'fp32') => manifest.dtypes[d]!.max_buffer_bytes!;
    expect(need('q4f16')).toBeLessThan(need('q4')); // float16 activations
    expect(chooseDtype(manifest, 'webgpu', 'auto', true, need('q4f16'))).toBe('q4f16');
    expect(chooseDtype(manifest, 'webgpu', 'auto', false, need('q4'))).toBe('q4');
    expect(() => chooseDtype(manifest, 'webgpu', 'auto', false, need('q4') - 1)).toThrow(
      /this GPU allows buffers of \d+ bytes; the model's q4, fp32 graphs need \d+ or more/,
    );
    expect(() => chooseDtype(manifest, 'webgpu', 'q4', true, need('q4') - 1)).toThrow(
      /the q4 graphs need a GPU buffer of/,
    );
    expect(chooseDtype(manifest, 'wasm', 'auto', false, 1)).toBe('q8'); // no GPU buffers off WebGPU
  });
  it('takes an asked-for dtype the package has, and names what it has otherwise', () => {
    expect(chooseDtype(manifest, 'wasm', 'fp16')).toBe('fp16');
    expect(() => chooseDtype(only('fp32', 'q8'), 'webgpu', 'q4')).toThrow(
      'this model has no q4 graphs (it has fp32, q8)',
    );
    expect(() => chooseDtype(only('fp16'), 'wasm')).toThrow(/ships no graphs this backend runs/);
  });
});

describe('checkGraphSignature', () => {
  const declared = manifest.graphs.text_llm;
  const same = {
    inputs: declared.inputs.map((t) => ({ ...t })),
    outputs: declared.outputs.map((t) => ({ ...t })),
  };
  it('accepts what the manifest declares, free dimensions matching any size', () => {
    expect(() => checkGraphSignature('text_llm', manifest, same)).not.toThrow();
    expect(() =>
      checkGraphSignature('text_llm', manifest, {
        inputs: same.inputs.map((t) => ({ name: t.name })),
        outputs: same.outputs,
      }),
    ).not.toThrow();
  });
  it('names the graph and the first difference: a missing, extra or retyped tensor', () => {
    const msg = (g: Parameters<typeof checkGraphSignature>[2]) => () =>
      checkGraphSignature('text_llm', manifest, g);
    expect(msg({ ...same, inputs: same.inputs.slice(1) })).toThrow(
      "model graph text_llm does not match its manifest: input 'inputs_embeds' is missing",
    );
    expect(msg({ ...same, outputs: [...same.outputs, { name: 'extra' }] })).toThrow(
      "it has an output 'extra' the manifest does not declare",
    );
    expect(msg({ ...same, inputs: [same.inputs[0]!, { ...same.inputs[1]!, dtype: 'int32' }] })).toThrow(
      "input 'attention_mask' is int32, the manifest says int64",
    );
  });
});

describe('checkDeclaredShapes: every config value the graphs fix agrees with them', () => {
  type Edit = (m: { config: Record<string, unknown> & { text: Record<string, number> } }) => void;
  const edited = (edit: Edit) => {
    const m = structuredClone(manifest) as unknown as Parameters<Edit>[0];
    edit(m);
    return m as unknown as Manifest;
  };
  const geo = (m: Parameters<Edit>[0]) =>
    (m.config['resolutions'] as Record<string, Record<string, number[]>>)['64']!;
  it('accepts the shipped package in every dtype', () => {
    for (const d of Object.keys(manifest.dtypes) as (keyof Manifest['dtypes'])[])
      expect(() => checkDeclaredShapes(manifest, d)).not.toThrow();
  });
  it('names the field that disagrees, and the tensor it disagrees with', () => {
    const cases: [Edit, string][] = [
      [(m) => (m.config['resolution'] = 128), 'manifest config.resolution: 128 disagrees with the graphs'],
      [
        (m) => (geo(m)['token_grid'] = [32, 32]),
        "manifest config.resolutions.64.token_grid: [32, 32] disagrees with the graphs: vq_encode output 'ids' has shape [1, 16, 16]",
      ],
      [
        (m) => (geo(m)['transformer_grid'] = [4, 4]),
        "manifest config.resolutions.64.transformer_grid: [4, 4] disagrees with the graphs: transformer_step output 'attention' has shape [1, 64]",
      ],
      [
        (m) => (m.config.text['llm_dim'] = 64),
        "manifest config.text.llm_dim: 64 disagrees with the graphs: text_llm input 'inputs_embeds' has shape [batch, 256, 32]",
      ],
      [(m) => (m.config.text['llm_length'] = 128), 'manifest config.text.llm_length: 128 disagrees'],
      [(m) => (m.config.text['clip_length'] = 64), "text_clip input 'input_ids' has shape [batch, 77]"],
      [(m) => (m.config.text['clip_dim'] = 16), 'manifest config.text.clip_dim: 16 disagrees'],
      [
        (m) => (m.config['micro_conds'] = [64, 64, 0, 0]),
        'manifest config.micro_conds: [64, 64, 0, 0] disagrees',
      ],
    ];
    for (const [edit, message] of cases) {
      const m = edited(edit);
      // resolution 128 has no resolutions entry of its own: give it the 64 one
      if (m.config.resolution === 128)
        (m.config.resolutions as Record<string, unknown>)['128'] = m.config.resolutions['64'];
      expect(() => checkDeclaredShapes(m, 'fp32'), message).toThrow(message);
    }
  });
});
