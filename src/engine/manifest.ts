/**
 * Model package manifest (docs/model-package.md): types, structural validation with messages
 * that name the offending field, and the ModelSpec the edit loop needs. When
 * `manifest.schema.json` (written by the exporter) is present, callers also validate against it.
 */
import { EditError } from './errors';
import type { ModelSpec } from './modelSpec';
import type { GraphName } from './ports';

export const GRAPH_NAMES: readonly GraphName[] = ['text_clip', 'text_llm', 'vq_encode', 'vq_decode', 'transformer_step'];
export const DTYPES = ['fp32', 'fp16', 'q4', 'q4f16', 'q8'] as const;
export type Dtype = (typeof DTYPES)[number];

export interface ManifestFile {
  /** relative to the package folder */
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface ManifestGraph extends ManifestFile {
  readonly external_data?: readonly ManifestFile[];
}

export interface Manifest {
  readonly name: string;
  readonly resolution: number;
  readonly token_grid: readonly [number, number];
  readonly transformer_grid: readonly [number, number];
  readonly codebook_size: number;
  readonly mask_token_id: number;
  readonly text: { readonly clip_length: number; readonly clip_dim: number; readonly llm_length: number; readonly llm_dim: number };
  readonly negative_prompt: string;
  readonly masking_schedule: 'cosine' | 'linear';
  readonly temperature?: readonly [number, number];
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** RGB per codebook entry ([codebook_size][3]) */
  readonly codebook_colors?: readonly (readonly number[])[];
  readonly graphs: Readonly<Partial<Record<Dtype, Readonly<Record<GraphName, ManifestGraph>>>>>;
  readonly tokenizers: { readonly clip: readonly ManifestFile[]; readonly llm: readonly ManifestFile[] };
}

type Json = unknown;

function fail(path: string, what: string): never {
  throw new EditError('bad-manifest', `manifest ${path}: ${what}`);
}
function obj(v: Json, path: string): Record<string, Json> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail(path, 'expected an object');
  return v as Record<string, Json>;
}
function posInt(v: Json, path: string): number {
  if (!Number.isInteger(v) || (v as number) < 1) fail(path, `expected a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}
function str(v: Json, path: string): string {
  if (typeof v !== 'string') fail(path, 'expected a string');
  return v;
}
function pair(v: Json, path: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) fail(path, 'expected [rows, cols]');
  return [posInt(v[0], `${path}[0]`), posInt(v[1], `${path}[1]`)];
}
function file(v: Json, path: string): ManifestFile {
  const o = obj(v, path);
  const p = str(o['path'], `${path}.path`);
  if (p.startsWith('/') || p.split('/').includes('..')) fail(`${path}.path`, 'must stay inside the package');
  const sha = str(o['sha256'], `${path}.sha256`);
  if (!/^[0-9a-f]{64}$/.test(sha)) fail(`${path}.sha256`, 'expected 64 lowercase hex digits');
  if (!Number.isInteger(o['bytes']) || (o['bytes'] as number) < 0) fail(`${path}.bytes`, 'expected a byte count');
  return { path: p, sha256: sha, bytes: o['bytes'] as number };
}

/** Structural validation; returns the manifest typed, or throws EditError('bad-manifest'). */
export function validateManifest(json: Json): Manifest {
  const m = obj(json, '(root)');
  const text = obj(m['text'], 'text');
  const schedule = m['masking_schedule'] ?? 'cosine';
  if (schedule !== 'cosine' && schedule !== 'linear') fail('masking_schedule', 'expected "cosine" or "linear"');
  const graphs = obj(m['graphs'], 'graphs');
  if (Object.keys(graphs).length === 0) fail('graphs', 'no dtype');
  for (const [dtype, g] of Object.entries(graphs)) {
    if (!(DTYPES as readonly string[]).includes(dtype)) fail(`graphs.${dtype}`, `unknown dtype (expected one of ${DTYPES.join(', ')})`);
    const go = obj(g, `graphs.${dtype}`);
    for (const name of GRAPH_NAMES) {
      const entry = file(go[name], `graphs.${dtype}.${name}`);
      const ext = obj(go[name], `graphs.${dtype}.${name}`)['external_data'];
      if (ext !== undefined) {
        if (!Array.isArray(ext)) fail(`graphs.${dtype}.${name}.external_data`, 'expected a list');
        ext.forEach((e, i) => file(e, `graphs.${dtype}.${name}.external_data[${i}]`));
      }
      void entry;
    }
  }
  const tok = obj(m['tokenizers'], 'tokenizers');
  for (const k of ['clip', 'llm']) {
    const list = tok[k];
    if (!Array.isArray(list) || list.length === 0) fail(`tokenizers.${k}`, 'expected a list of files');
    list.forEach((f, i) => file(f, `tokenizers.${k}[${i}]`));
    if (!list.some((f) => (f as ManifestFile).path.endsWith('tokenizer.json'))) fail(`tokenizers.${k}`, 'has no tokenizer.json');
  }
  const codebook = posInt(m['codebook_size'], 'codebook_size');
  const maskId = m['mask_token_id'];
  if (!Number.isInteger(maskId) || (maskId as number) < codebook) fail('mask_token_id', 'expected an integer ≥ codebook_size');
  const colors = m['codebook_colors'];
  if (colors !== undefined) {
    if (!Array.isArray(colors) || colors.length !== codebook) fail('codebook_colors', `expected ${codebook} [r, g, b] entries`);
    colors.forEach((c, i) => {
      if (!Array.isArray(c) || c.length !== 3 || !c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) fail(`codebook_colors[${i}]`, 'expected [r, g, b] bytes');
    });
  }
  str(m['name'], 'name');
  posInt(m['resolution'], 'resolution');
  pair(m['token_grid'], 'token_grid');
  pair(m['transformer_grid'], 'transformer_grid');
  for (const k of ['clip_length', 'clip_dim', 'llm_length', 'llm_dim']) posInt(text[k], `text.${k}`);
  str(m['negative_prompt'], 'negative_prompt');
  return json as Manifest;
}

/** What the edit loop needs, from a validated manifest. */
export function specFromManifest(m: Manifest): ModelSpec {
  const colors = m.codebook_colors ? Uint8Array.from(m.codebook_colors.flat()) : undefined;
  return {
    width: m.resolution,
    height: m.resolution,
    tokenGrid: { h: m.token_grid[0], w: m.token_grid[1] },
    attentionGrid: { h: m.transformer_grid[0], w: m.transformer_grid[1] },
    maskTokenId: m.mask_token_id,
    codebookSize: m.codebook_size,
    clip: { maxLength: m.text.clip_length, dim: m.text.clip_dim },
    llm: { maxLength: m.text.llm_length, dim: m.text.llm_dim },
    negativePrompt: m.negative_prompt,
    schedule: m.masking_schedule ?? 'cosine',
    temperature: m.temperature ? [m.temperature[0], m.temperature[1]] : [2, 0],
    aestheticScore: 6,
    codebookColors: colors,
  };
}

/** The dtypes a manifest ships, best first for `preferred` (falls back to fp32). */
export function pickDtype(m: Manifest, preferred?: string): Dtype {
  const have = Object.keys(m.graphs) as Dtype[];
  if (preferred !== undefined) {
    if (!(have as string[]).includes(preferred)) throw new EditError('bad-settings', `the model has no ${preferred} graphs (it has ${have.join(', ')})`);
    return preferred as Dtype;
  }
  return have.includes('fp32') ? 'fp32' : have[0]!;
}
