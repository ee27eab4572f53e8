import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateJsonSchema } from './jsonSchema';
import {
  defaultHold,
  DTYPES,
  GRAPH_NAMES,
  packageEditOptions,
  packageFiles,
  specFromManifest,
  validateManifest,
} from './manifest';
import { chooseDtype } from './package';
import schemaJson from './manifest.schema.json';

const manifestUrl = new URL('../../public/models/tiny-random/manifest.json', import.meta.url);
const have = existsSync(manifestUrl);

describe('JSON schema subset', () => {
  const schema = {
    type: 'object',
    required: ['a'],
    additionalProperties: false,
    properties: {
      a: { type: 'integer', minimum: 1 },
      b: { type: 'array', items: { enum: ['x', 'y'] }, minItems: 1 },
      c: { $ref: '#/$defs/hex' },
      d: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    },
    $defs: { hex: { type: 'string', pattern: '^[0-9a-f]{4}$' } },
  };
  it('accepts a valid value and names the path of each error', () => {
    expect(validateJsonSchema(schema, { a: 2, b: ['x'], c: 'beef', d: null })).toEqual([]);
    expect(validateJsonSchema(schema, { a: 0 })).toEqual(['$.a: must be ≥ 1']);
    expect(validateJsonSchema(schema, { b: ['z'] })).toEqual([
      '$: missing "a"',
      '$.b[0]: must be one of ["x","y"]',
    ]);
    expect(validateJsonSchema(schema, { a: 1, c: 'BEEF', e: 1 })).toEqual([
      '$.c: does not match ^[0-9a-f]{4}$',
      '$.e: not allowed',
    ]);
    expect(validateJsonSchema(schema, { a: 1.5 })).toEqual(['$.a: expected integer, got number']);
    expect(validateJsonSchema(schema, { a: 1, d: 3 })[0]).toMatch(/anyOf/);
  });
  it('refuses keywords it does not implement instead of ignoring them', () => {
    expect(() => validateJsonSchema({ dependentRequired: { a: ['b'] } }, {})).toThrow(/not supported/);
  });
});

describe.skipIf(!have)('the tiny package manifest', () => {
  const manifest = have ? JSON.parse(readFileSync(manifestUrl, 'utf8')) : {};
  it('validates against the exporter schema and gives a consistent spec', () => {
    const m = validateManifest(manifest);
    const spec = specFromManifest(m);
    expect(spec.maskTokenId).toBeGreaterThanOrEqual(spec.codebookSize);
    expect(spec.codebookColors?.length).toBe(spec.codebookSize * 3);
    const files = packageFiles(m, chooseDtype(m, 'cpu'));
    expect(files.graphs.transformer_step[0]!.path).toMatch(/transformer_step\.onnx$/);
  });
  it('names the field that breaks the schema or the engine’s checks', () => {
    const bad = structuredClone(manifest);
    bad.config.codebook_size = 'many';
    expect(() => validateManifest(bad)).toThrow(/config\.codebook_size/);
    const missing = structuredClone(manifest);
    missing.files = missing.files.filter((f: { path: string }) => !f.path.endsWith('vq_decode.onnx'));
    expect(() => validateManifest(missing)).toThrow(/vq_decode\.onnx is not listed in files/);
    expect(() => chooseDtype(validateManifest(manifest), 'cpu', 'int2' as 'fp32')).toThrow(/no int2 graphs/);
  });
  it('lists the token table with the dtype’s files and checks it against its rows', () => {
    const m = validateManifest(manifest);
    expect(packageFiles(m, 'q4').tokenTable?.path).toBe('q4/text_llm.table');
    const unlisted = structuredClone(manifest);
    unlisted.files = unlisted.files.filter((f: { path: string }) => f.path !== 'q8/text_llm.table');
    expect(() => validateManifest(unlisted)).toThrow(
      /dtypes\.q8\.graphs\.text_llm\.token_table.*q8\/text_llm\.table is not listed in files/,
    );
    const short = structuredClone(manifest);
    short.dtypes.fp16.graphs.text_llm.token_table.rows += 1;
    expect(() => validateManifest(short)).toThrow(/fp16\/text_llm\.table has \d+ bytes, not 386 rows of 64/);
  });
});

/**
 * The tiny manifest reshaped like a full-size package: every dtype, each graph's weights in
 * 1 GiB external-data chunks beside it (the exporter's layout), sizes as large as the real ones.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document edited freely, then validated
type Json = Record<string, any>;
function fullSizeShaped(tiny: Json): Json {
  const m = structuredClone(tiny);
  const GiB = 2 ** 30;
  const sha = 'ab'.repeat(32);
  const files = m.files.filter((f: { path: string }) => f.path.startsWith('tokenizer_'));
  const chunks: Record<string, number> = {
    text_clip: 1,
    text_llm: 3,
    vq_encode: 1,
    vq_decode: 1,
    transformer_step: 2,
  };
  m.dtypes = {};
  for (const d of DTYPES) {
    const graphs: Record<string, unknown> = {};
    for (const g of GRAPH_NAMES) {
      const data = Array.from({ length: chunks[g]! }, (_, i) => `${d}/${g}.onnx.data${i ? `_${i}` : ''}`);
      graphs[g] = { file: `${d}/${g}.onnx`, external_data: data };
      files.push({ path: `${d}/${g}.onnx`, bytes: 812_345, sha256: sha });
      data.forEach((p, i) =>
        files.push({ path: p, bytes: i < data.length - 1 ? GiB : 123_456_789, sha256: sha }),
      );
    }
    m.dtypes[d] = { providers: d === 'q8' ? ['wasm'] : ['webgpu'], graphs };
  }
  m.files = files;
  m.config.max_buffer_bytes = 128 * 2 ** 20;
  return m;
}

describe.skipIf(!have)('a full-size-shaped manifest (chunked external data, every dtype)', () => {
  const tiny = have ? JSON.parse(readFileSync(manifestUrl, 'utf8')) : {};
  it('validates, and each dtype’s files are the graph then its chunks in order', () => {
    const m = validateManifest(fullSizeShaped(tiny));
    for (const d of DTYPES) {
      const { graphs } = packageFiles(m, d);
      expect(graphs.text_llm.map((f) => f.path)).toEqual([
        `${d}/text_llm.onnx`,
        `${d}/text_llm.onnx.data`,
        `${d}/text_llm.onnx.data_1`,
        `${d}/text_llm.onnx.data_2`,
      ]);
      expect(graphs.transformer_step.slice(1).reduce((s, f) => s + f.bytes, 0)).toBe(2 ** 30 + 123_456_789);
    }
  });
  it('refuses external data written as one path string', () => {
    const m = fullSizeShaped(tiny);
    m.dtypes.q4.graphs.text_llm.external_data = 'q4/text_llm.onnx.data';
    expect(() => validateManifest(m)).toThrow(/dtypes\.q4\.graphs\.text_llm\.external_data: expected array/);
  });
  it('refuses a chunk that is not beside its graph, one of 2 GiB, and one not listed in files', () => {
    const elsewhere = fullSizeShaped(tiny);
    elsewhere.dtypes.fp16.graphs.text_llm.external_data = ['weights/text_llm.onnx.data'];
    elsewhere.files.push({ path: 'weights/text_llm.onnx.data', bytes: 1, sha256: 'ab'.repeat(32) });
    expect(() => validateManifest(elsewhere)).toThrow(
      /weights\/text_llm\.onnx\.data is not a separate file beside fp16\/text_llm\.onnx/,
    );
    const big = fullSizeShaped(tiny);
    big.files.find((f: { path: string }) => f.path === 'q8/text_llm.onnx.data')!.bytes = 2 ** 31;
    expect(() => validateManifest(big)).toThrow(/q8\/text_llm\.onnx\.data has 2147483648 bytes/);
    const unlisted = fullSizeShaped(tiny);
    unlisted.files = unlisted.files.filter(
      (f: { path: string }) => f.path !== 'q4f16/transformer_step.onnx.data_1',
    );
    expect(() => validateManifest(unlisted)).toThrow(
      /q4f16\/transformer_step\.onnx\.data_1 is not listed in files/,
    );
  });
  it('refuses domain examples that are not listed in files', () => {
    const m = fullSizeShaped(tiny);
    m.domain = { description: 'flat shapes', examples: [{ path: 'examples/circle.png' }] };
    expect(() => validateManifest(m)).toThrow(/domain\.examples: examples\/circle\.png is not listed/);
  });
});

describe('the engine’s lists match the schema', () => {
  const schema = schemaJson as unknown as {
    $defs: { dtype: { enum: string[] } };
    properties: { graphs: { required: string[] } };
  };
  it('DTYPES and GRAPH_NAMES are the schema’s', () => {
    expect([...DTYPES]).toEqual(schema.$defs.dtype.enum);
    expect([...GRAPH_NAMES]).toEqual(schema.properties.graphs.required);
  });
});

describe('defaultHold', () => {
  const base = { steps: 16, guidance_scale: 2, reference_strength: 3, temperature: [2, 0] as const };
  it('is the package λ when its defaults turn region-hold on, and 0 when they do not', () => {
    expect(defaultHold({ ...base, region_hold_lambda: 0.1, region_hold_enabled: true })).toBe(0.1);
    expect(defaultHold({ ...base, region_hold_lambda: 0.1, region_hold_enabled: false })).toBe(0);
  });
});

describe('packageEditOptions', () => {
  it("takes every setting the package names from its manifest (the shapes package's own guidance and reference strength)", () => {
    const url = new URL('../../public/models/shapes/manifest.json', import.meta.url);
    const m = JSON.parse(readFileSync(url, 'utf8'));
    expect(packageEditOptions(m)).toEqual({
      steps: m.defaults.steps,
      guidance: m.defaults.guidance_scale,
      referenceStrength: m.defaults.reference_strength,
      hold: m.defaults.region_hold_enabled ? m.defaults.region_hold_lambda : 0,
      seed: 0,
      negativePrompt: m.negative_prompt,
      composite: true,
    });
  });
});
