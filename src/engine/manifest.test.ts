import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateJsonSchema } from './jsonSchema';
import { defaultHold, packageEditOptions, packageFiles, pickDtype, specFromManifest, validateManifest } from './manifest';

const schemaUrl = new URL('./manifest.schema.json', import.meta.url);
const manifestUrl = new URL('../../public/models/tiny-random/manifest.json', import.meta.url);
const have = existsSync(schemaUrl) && existsSync(manifestUrl);

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
    expect(validateJsonSchema(schema, { b: ['z'] })).toEqual(['$: missing "a"', '$.b[0]: must be one of ["x","y"]']);
    expect(validateJsonSchema(schema, { a: 1, c: 'BEEF', e: 1 })).toEqual(['$.c: does not match ^[0-9a-f]{4}$', '$.e: not allowed']);
    expect(validateJsonSchema(schema, { a: 1.5 })).toEqual(['$.a: expected integer, got number']);
    expect(validateJsonSchema(schema, { a: 1, d: 3 })[0]).toMatch(/anyOf/);
  });
  it('refuses keywords it does not implement instead of ignoring them', () => {
    expect(() => validateJsonSchema({ dependentRequired: { a: ['b'] } }, {})).toThrow(/not supported/);
  });
});

describe.skipIf(!have)('the tiny package manifest', () => {
  const schema = have ? JSON.parse(readFileSync(schemaUrl, 'utf8')) : {};
  const manifest = have ? JSON.parse(readFileSync(manifestUrl, 'utf8')) : {};
  it('validates against the exporter schema and gives a consistent spec', () => {
    const m = validateManifest(manifest, schema);
    const spec = specFromManifest(m);
    expect(spec.maskTokenId).toBeGreaterThanOrEqual(spec.codebookSize);
    expect(spec.codebookColors?.length).toBe(spec.codebookSize * 3);
    const files = packageFiles(m, pickDtype(m));
    expect(files.graphs.transformer_step[0]!.path).toMatch(/transformer_step\.onnx$/);
  });
  it('names the field that breaks the schema or the engine’s checks', () => {
    const bad = structuredClone(manifest);
    bad.config.codebook_size = 'many';
    expect(() => validateManifest(bad, schema)).toThrow(/config\.codebook_size/);
    const missing = structuredClone(manifest);
    missing.files = missing.files.filter((f: { path: string }) => !f.path.endsWith('vq_decode.onnx'));
    expect(() => validateManifest(missing)).toThrow(/vq_decode\.onnx is not listed in files/);
    expect(() => pickDtype(validateManifest(manifest), 'int2')).toThrow(/no int2 graphs/);
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
