/**
 * Model package manifest (docs/model-package.md; written by tools/export): types, validation
 * (the exporter's JSON schema when given, plus the checks the engine relies on, with messages
 * that name the field), and the ModelSpec the edit loop needs.
 */
import { EditError } from './errors';
import { validateJsonSchema } from './jsonSchema';
import type { ModelSpec } from './modelSpec';
import type { GraphName } from './ports';

export const GRAPH_NAMES: readonly GraphName[] = ['text_clip', 'text_llm', 'vq_encode', 'vq_decode', 'transformer_step'];
export const DTYPES = ['fp32', 'fp16', 'q4', 'q4f16', 'q8'] as const;
export type Dtype = (typeof DTYPES)[number];

export interface ManifestFile {
  /** relative to the package folder */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface TensorDesc {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
}

export interface TokenizerEntry {
  readonly files: readonly string[];
  readonly max_length: number;
  readonly pad_id: number;
  readonly padding_side: 'left' | 'right';
  readonly truncation: boolean;
}

export interface Manifest {
  readonly format_version: number;
  readonly name: string;
  readonly dtypes: Readonly<Partial<Record<Dtype, {
    readonly providers: readonly string[];
    readonly graphs: Readonly<Record<GraphName, { readonly file: string; readonly external_data?: readonly string[] }>>;
  }>>>;
  readonly graphs: Readonly<Record<GraphName, { readonly inputs: readonly TensorDesc[]; readonly outputs: readonly TensorDesc[] }>>;
  readonly files: readonly ManifestFile[];
  readonly config: {
    readonly resolution: number;
    readonly resolutions: Readonly<Record<string, { readonly token_grid: readonly [number, number]; readonly transformer_grid: readonly [number, number] }>>;
    readonly codebook_size: number;
    readonly mask_token_id: number;
    readonly masking_schedule: 'cosine' | 'linear';
    readonly text: { readonly clip_length: number; readonly llm_length: number; readonly clip_dim: number; readonly llm_dim: number };
    readonly micro_conds?: readonly number[];
    readonly attention_blocks?: readonly number[];
    readonly readback_bytes_per_step?: number;
  };
  readonly defaults: {
    readonly steps: number;
    readonly guidance_scale: number;
    readonly reference_strength: number;
    readonly temperature: readonly [number, number];
    readonly region_hold_lambda: number;
    readonly region_hold_enabled: boolean;
  };
  readonly negative_prompt: string;
  readonly tokenizers: { readonly clip: TokenizerEntry; readonly llm: TokenizerEntry };
  /** RGB in [0, 1] per codebook entry */
  readonly codebook_colors?: readonly (readonly number[])[];
  /** instructions that suit this model, offered by the editor */
  readonly suggestions?: readonly string[];
  /** the images the model was trained on, told to the person (see src/engine/domain.ts) */
  readonly domain?: {
    readonly description: string;
    /** true when images unlike the training ones give poor results */
    readonly narrow?: boolean;
    /** what to expect from an image outside the domain */
    readonly outside?: string;
    /** package files (listed in `files`) showing the domain */
    readonly examples?: readonly { readonly path: string; readonly instruction?: string }[];
  };
}

/**
 * The region-hold λ an edit uses unless the person picks one: the package's λ when its defaults
 * turn region-hold on, else 0 (off; the package's λ is then what Settings offers when turned on).
 */
export function defaultHold(defaults: Manifest['defaults']): number {
  return defaults.region_hold_enabled ? defaults.region_hold_lambda : 0;
}

function fail(path: string, what: string): never {
  throw new EditError('bad-manifest', `manifest ${path}: ${what}`);
}

function isPosInt(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0;
}

/**
 * Validates a parsed manifest.json: against `schema` (manifest.schema.json) when given, then the
 * cross-field facts the engine relies on. Throws EditError('bad-manifest') naming the field.
 */
export function validateManifest(json: unknown, schema?: unknown): Manifest {
  if (schema !== undefined) {
    const errors = validateJsonSchema(schema as Record<string, unknown>, json);
    if (errors.length) fail(errors[0]!.split(':')[0]!, `${errors[0]!.split(': ').slice(1).join(': ')}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`);
  }
  if (!json || typeof json !== 'object') fail('$', 'expected an object');
  const m = json as Manifest;
  if (m.format_version !== 1) fail('format_version', `this engine reads format 1, got ${JSON.stringify(m.format_version)}`);
  const c = m.config;
  if (!c || typeof c !== 'object') fail('config', 'missing');
  if (!isPosInt(c.resolution)) fail('config.resolution', 'expected a positive integer');
  const geo = c.resolutions?.[String(c.resolution)];
  if (!geo) fail('config.resolutions', `no entry for the resolution ${c.resolution}`);
  for (const k of ['token_grid', 'transformer_grid'] as const) {
    const g = geo[k];
    if (!Array.isArray(g) || g.length !== 2 || !g.every(isPosInt)) fail(`config.resolutions.${c.resolution}.${k}`, 'expected [rows, cols]');
  }
  if (!isPosInt(c.codebook_size)) fail('config.codebook_size', 'expected a positive integer');
  if (!Number.isInteger(c.mask_token_id) || c.mask_token_id < c.codebook_size) fail('config.mask_token_id', 'expected an integer ≥ codebook_size');
  if (c.masking_schedule !== 'cosine' && c.masking_schedule !== 'linear') fail('config.masking_schedule', 'expected "cosine" or "linear"');
  for (const k of ['clip_length', 'llm_length', 'clip_dim', 'llm_dim'] as const) if (!isPosInt(c.text?.[k])) fail(`config.text.${k}`, 'expected a positive integer');
  if (typeof m.negative_prompt !== 'string') fail('negative_prompt', 'expected a string');
  const files = new Map<string, ManifestFile>();
  if (!Array.isArray(m.files)) fail('files', 'expected a list');
  m.files.forEach((f, i) => {
    if (typeof f?.path !== 'string' || f.path.startsWith('/') || f.path.split('/').includes('..')) fail(`files[${i}].path`, 'must be a path inside the package');
    if (!/^[0-9a-f]{64}$/.test(String(f.sha256))) fail(`files[${i}].sha256`, 'expected 64 lowercase hex digits');
    if (!Number.isInteger(f.bytes) || f.bytes < 0) fail(`files[${i}].bytes`, 'expected a byte count');
    files.set(f.path, f);
  });
  const dtypes = Object.keys(m.dtypes ?? {});
  if (dtypes.length === 0) fail('dtypes', 'no dtype');
  for (const d of dtypes) {
    if (!(DTYPES as readonly string[]).includes(d)) fail(`dtypes.${d}`, `unknown dtype (expected one of ${DTYPES.join(', ')})`);
    for (const g of GRAPH_NAMES) {
      const entry = m.dtypes[d as Dtype]!.graphs?.[g];
      if (!entry) fail(`dtypes.${d}.graphs.${g}`, 'missing');
      for (const p of [entry.file, ...(entry.external_data ?? [])]) if (!files.has(p)) fail(`dtypes.${d}.graphs.${g}`, `${p} is not listed in files (no checksum)`);
    }
  }
  for (const k of ['clip', 'llm'] as const) {
    const t = m.tokenizers?.[k];
    if (!t || !Array.isArray(t.files)) fail(`tokenizers.${k}`, 'missing');
    if (!t.files.some((p) => p.endsWith('tokenizer.json'))) fail(`tokenizers.${k}.files`, 'has no tokenizer.json');
    for (const p of t.files) if (!files.has(p)) fail(`tokenizers.${k}.files`, `${p} is not listed in files (no checksum)`);
    if (!Number.isInteger(t.pad_id)) fail(`tokenizers.${k}.pad_id`, 'expected an integer');
  }
  if (m.codebook_colors !== undefined) {
    if (!Array.isArray(m.codebook_colors) || m.codebook_colors.length !== c.codebook_size) fail('codebook_colors', `expected ${c.codebook_size} [r, g, b] entries`);
    m.codebook_colors.forEach((rgb, i) => {
      if (!Array.isArray(rgb) || rgb.length !== 3 || !rgb.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) fail(`codebook_colors[${i}]`, 'expected [r, g, b] in [0, 1]');
    });
  }
  return m;
}

/** The files (graph, external data) a dtype needs, and the tokenizer files, with checksums. */
export function packageFiles(m: Manifest, dtype: Dtype): { graphs: Record<GraphName, ManifestFile[]>; tokenizers: ManifestFile[] } {
  const byPath = new Map(m.files.map((f) => [f.path, f]));
  const get = (p: string): ManifestFile => byPath.get(p) ?? fail('files', `${p} is not listed`);
  const graphs = {} as Record<GraphName, ManifestFile[]>;
  for (const g of GRAPH_NAMES) {
    const e = m.dtypes[dtype]!.graphs[g];
    graphs[g] = [e.file, ...(e.external_data ?? [])].map(get);
  }
  return { graphs, tokenizers: [...m.tokenizers.clip.files, ...m.tokenizers.llm.files].map(get) };
}

/** What the edit loop needs, from a validated manifest. */
export function specFromManifest(m: Manifest): ModelSpec {
  const c = m.config;
  const geo = c.resolutions[String(c.resolution)]!;
  const colors = m.codebook_colors ? Uint8Array.from(m.codebook_colors.flat(), (v) => Math.round(v * 255)) : undefined;
  return {
    width: c.resolution,
    height: c.resolution,
    tokenGrid: { h: geo.token_grid[0], w: geo.token_grid[1] },
    attentionGrid: { h: geo.transformer_grid[0], w: geo.transformer_grid[1] },
    maskTokenId: c.mask_token_id,
    codebookSize: c.codebook_size,
    clip: { maxLength: c.text.clip_length, dim: c.text.clip_dim },
    llm: { maxLength: c.text.llm_length, dim: c.text.llm_dim },
    negativePrompt: m.negative_prompt,
    schedule: c.masking_schedule,
    temperature: m.defaults?.temperature ? [m.defaults.temperature[0], m.defaults.temperature[1]] : [2, 0],
    aestheticScore: c.micro_conds?.[4] ?? 6,
    codebookColors: colors,
  };
}

/** The dtype to use: `preferred` when the package has it (else an error), fp32 by default. */
export function pickDtype(m: Manifest, preferred?: string): Dtype {
  const have = Object.keys(m.dtypes) as Dtype[];
  if (preferred !== undefined) {
    if (!(have as string[]).includes(preferred)) throw new EditError('bad-settings', `the model has no ${preferred} graphs (it has ${have.join(', ')})`);
    return preferred as Dtype;
  }
  return have.includes('fp32') ? 'fp32' : have[0]!;
}
