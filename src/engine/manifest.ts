/**
 * Model package manifest (docs/model-package.md; written by tools/export): validation against
 * manifest.schema.json plus the checks the engine relies on, with messages that name the field,
 * and the ModelSpec the edit loop needs. The types are generated from the schema
 * (manifest.types.ts), so the two cannot drift.
 */
import { EDIT_SETTING_NAMES, EDIT_SETTINGS, fallbackEditOptions } from './editSettings';
import type { EditOptionValues } from './editSettings';
import { EditError } from './errors';
import { validateJsonSchema } from './jsonSchema';
import manifestSchema from './manifest.schema.json' with { type: 'json' };
import type { Dtype, Manifest } from './manifest.types';
import type { ModelSpec } from './modelSpec';
import type { GraphName } from './ports';

export const GRAPH_NAMES: readonly GraphName[] = [
  'text_clip',
  'text_llm',
  'vq_encode',
  'vq_decode',
  'transformer_step',
];
export const DTYPES = ['fp32', 'fp16', 'q4', 'q4f16', 'q8'] as const satisfies readonly Dtype[];
export type { Dtype, Manifest };

export type ManifestFile = Manifest['files'][number];
export type TensorDesc = Manifest['graphs'][GraphName]['inputs'][number];
export type TokenizerEntry = Manifest['tokenizers']['clip'];
/** A graph's files in one dtype: the .onnx file and its external-data chunks. */
export type GraphFiles = NonNullable<Manifest['dtypes'][Dtype]>['graphs'][GraphName];

/**
 * The region-hold λ an edit uses unless the person picks one: the package's λ when its defaults
 * turn region-hold on, else 0 (off; the package's λ is then what Settings offers when turned on).
 */
export function defaultHold(defaults: Manifest['defaults']): number {
  return defaults.region_hold_enabled ? defaults.region_hold_lambda : 0;
}

/**
 * The options an edit with this package uses when the caller names none: each setting's value at
 * its manifest key (EDIT_SETTINGS[…].manifestKey), region-hold as `defaultHold` decides, and the
 * settings' fallbacks for what the package does not say (seed, composite). A host that edits
 * without it gets the engine's fallbacks (guidance 6, reference strength 1.1), not the model's.
 */
export function packageEditOptions(m: Pick<Manifest, 'defaults' | 'negative_prompt'>): EditOptionValues {
  const out: Record<string, unknown> = { ...fallbackEditOptions() };
  for (const name of EDIT_SETTING_NAMES) {
    const key = EDIT_SETTINGS[name].manifestKey;
    if (!key) continue;
    const value = key
      .split('.')
      .reduce<unknown>(
        (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
        m,
      );
    if (value !== undefined) out[name] = value;
  }
  out['hold'] = defaultHold(m.defaults);
  return out as unknown as EditOptionValues;
}

/** A manifest is a few hundred KB even at full size; a larger file is not read at all (both hosts). */
export const MAX_MANIFEST_BYTES = 16 << 20;
/** A stream of bytes as fetch gives one (the engine reads it without the DOM's types). */
export interface ByteStream {
  getReader(): {
    read(): Promise<{ done: boolean; value?: Uint8Array }>;
    cancel(reason?: unknown): Promise<void>;
  };
}

/** A package's manifest.json as its source hands it over, before any check (FileSource.manifest). */
export interface RawManifest {
  /** The URL or path it came from, named in every message about it. */
  readonly where: string;
  /** The Content-Type the server sent, when it sent one (a web page is refused by it). */
  readonly contentType?: string | null;
  /** Its size when known before reading (Content-Length, the file's size): over the cap, it is not read. */
  readonly size?: number;
  /** Its bytes, or a stream of them that is read no further than MAX_MANIFEST_BYTES. */
  readonly body: Uint8Array | ByteStream | null;
}

/**
 * A fetch answer as a RawManifest: its Content-Type and Content-Length, and its body (or `body`,
 * a wrapper of it that watches the server's silence, say).
 */
export function responseManifest(
  where: string,
  response: { readonly headers: { get(name: string): string | null }; readonly body: ByteStream | null },
  body: ByteStream | null = response.body,
): RawManifest {
  const length = response.headers.get('content-length');
  return {
    where,
    contentType: response.headers.get('content-type'),
    size: length === null ? undefined : Number(length),
    body,
  };
}

/**
 * A source answered with something that is not a model manifest: a web page, or more bytes than
 * a manifest can be. The address, not a package, is wrong.
 */
export class NotAManifestError extends EditError {
  constructor(message: string) {
    super('bad-manifest', message);
    this.name = 'NotAManifestError';
  }
}

/** Closes a stream that will not be read (a web page, a declared size over the cap). */
function drop(body: Uint8Array | ByteStream | null): void {
  if (body && !(body instanceof Uint8Array))
    void body
      .getReader()
      .cancel()
      .catch(() => undefined);
}

/**
 * The bytes of `body`, at most `max`: a declared or streamed size over it is refused by `tooBig`
 * (a stream is cancelled there, not read to its end). The one capped reader of the engine's hosts.
 */
export async function readCapped(
  body: Uint8Array | ByteStream | null,
  max: number,
  tooBig: (bytes: number) => Error,
  declared?: number,
): Promise<Uint8Array> {
  if (declared !== undefined && declared > max) {
    drop(body);
    throw tooBig(declared);
  }
  if (!body) return new Uint8Array(0);
  if (body instanceof Uint8Array) {
    if (body.byteLength > max) throw tooBig(body.byteLength);
    return body;
  }
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done || !value) break;
    total += value.byteLength;
    if (total > max) {
      void reader.cancel().catch(() => undefined);
      throw tooBig(total);
    }
    parts.push(value);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return all;
}

const webPage = (where: string) =>
  new NotAManifestError(`${where} sent a web page, not a model manifest. Is this a model package URL?`);

/**
 * The manifest in `bytes` (read from `where`, of at most MAX_MANIFEST_BYTES): not a web page, JSON,
 * and valid (validateManifest). Returns it with its text (what a host may keep for offline use).
 */
export function manifestFromBytes(bytes: Uint8Array, where: string): { manifest: Manifest; text: string } {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) throw tooLargeManifest(where, bytes.byteLength);
  // TextDecoder is in every host (browsers, workers, node) but not in the engine's ES2022 lib.
  const text = new (
    globalThis as unknown as { TextDecoder: new () => { decode(b: Uint8Array): string } }
  ).TextDecoder().decode(bytes);
  if (text.trimStart().startsWith('<')) throw webPage(where);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EditError('bad-manifest', `${where} is not a JSON manifest`);
  }
  return { manifest: validateManifest(json), text };
}

/**
 * Reads and checks a manifest as a source gave it, the same rules for every source: at most
 * MAX_MANIFEST_BYTES (a larger one is not read to its end), not a web page (by its Content-Type
 * or its first character), JSON, and valid (manifestFromBytes).
 */
export async function parseRawManifest(raw: RawManifest): Promise<{ manifest: Manifest; text: string }> {
  const { where, body } = raw;
  if (/text\/html/i.test(raw.contentType ?? '')) {
    drop(body);
    throw webPage(where);
  }
  const bytes = await readCapped(body, MAX_MANIFEST_BYTES, (n) => tooLargeManifest(where, n), raw.size);
  return manifestFromBytes(bytes, where);
}

/** The one message for a manifest over MAX_MANIFEST_BYTES (`bytes`: at least that many). */
export const tooLargeManifest = (where: string, bytes: number): NotAManifestError =>
  new NotAManifestError(
    `${where} is too large: at least ${bytes} bytes, where such a file may be at most ${MAX_MANIFEST_BYTES >> 20} MiB. Is this a model package URL?`,
  );

/** Tokenizer files are parsed whole in memory (Gemma's tokenizer.json is ~34 MB). */
export const MAX_TOKENIZER_BYTES = 64 << 20;

/** Refuses a package whose manifest declares a tokenizer file over MAX_TOKENIZER_BYTES (before any download). */
/**
 * The largest single file a package may hold, declared or streamed: 4 GiB. The largest file a
 * real package has is the full-size model's fp32 token table (256,000 rows × 2,304 × 4 bytes =
 * 2.2 GiB); graph chunks stay under 2 GiB (MAX_CHUNK_BYTES) and tokenizer files under
 * MAX_TOKENIZER_BYTES. A file declared larger is refused before any download in every host, and
 * a download that streams more is cut off.
 */
export const MAX_PACKAGE_FILE_BYTES = 4 * 2 ** 30;

/** The declared sizes no package needs, refused before anything is downloaded: any file over
 * MAX_PACKAGE_FILE_BYTES, a tokenizer file over MAX_TOKENIZER_BYTES. */
export function checkDeclaredSizes(m: Pick<Manifest, 'files' | 'tokenizers'>): void {
  const paths = new Set([...m.tokenizers.clip.files, ...m.tokenizers.llm.files]);
  const tooBig = m.files.find((f) => paths.has(f.path) && f.bytes > MAX_TOKENIZER_BYTES);
  if (tooBig)
    fail(
      'files',
      `the tokenizer file ${tooBig.path} is declared as ${tooBig.bytes} bytes; a tokenizer file may be at most ${MAX_TOKENIZER_BYTES >> 20} MiB`,
    );
  const huge = m.files.find((f) => f.bytes > MAX_PACKAGE_FILE_BYTES);
  if (huge)
    throw new EditError(
      'bad-manifest',
      `model file ${huge.path} is declared as ${formatBytes(huge.bytes)}; a package file may be at most ${formatBytes(MAX_PACKAGE_FILE_BYTES)}`,
    );
}

/** `n` bytes for a message: "512 bytes", "1.5 MiB", "4 GiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

function fail(path: string, what: string): never {
  throw new EditError('bad-manifest', `manifest ${path}: ${what}`);
}

function isPosInt(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0;
}

/** Chromium and onnxruntime-web refuse single files (and ArrayBuffers) of 2 GiB or more. */
export const MAX_CHUNK_BYTES = 2 ** 31 - 1;

const folderOf = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);

/**
 * Validates a parsed manifest.json against manifest.schema.json, then the cross-field facts the
 * engine relies on. Throws EditError('bad-manifest') naming the field. Every reader of a
 * manifest goes through this.
 */
export function validateManifest(json: unknown): Manifest {
  const errors = validateJsonSchema(manifestSchema as Record<string, unknown>, json);
  if (errors.length)
    fail(
      errors[0]!.split(':')[0]!,
      `${errors[0]!.split(': ').slice(1).join(': ')}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`,
    );
  if (!json || typeof json !== 'object') fail('$', 'expected an object');
  const m = json as Manifest;
  if (m.format_version !== 1)
    fail('format_version', `this engine reads format 1, got ${JSON.stringify(m.format_version)}`);
  const c = m.config;
  if (!c || typeof c !== 'object') fail('config', 'missing');
  if (!isPosInt(c.resolution)) fail('config.resolution', 'expected a positive integer');
  const geo = c.resolutions?.[String(c.resolution)];
  if (!geo) fail('config.resolutions', `no entry for the resolution ${c.resolution}`);
  for (const k of ['token_grid', 'transformer_grid'] as const) {
    const g = geo[k];
    if (!Array.isArray(g) || g.length !== 2 || !g.every(isPosInt))
      fail(`config.resolutions.${c.resolution}.${k}`, 'expected [rows, cols]');
  }
  if (!isPosInt(c.codebook_size)) fail('config.codebook_size', 'expected a positive integer');
  if (!Number.isInteger(c.mask_token_id) || c.mask_token_id < c.codebook_size)
    fail('config.mask_token_id', 'expected an integer ≥ codebook_size');
  if (c.masking_schedule !== 'cosine' && c.masking_schedule !== 'linear')
    fail('config.masking_schedule', 'expected "cosine" or "linear"');
  for (const k of ['clip_length', 'llm_length', 'clip_dim', 'llm_dim'] as const)
    if (!isPosInt(c.text?.[k])) fail(`config.text.${k}`, 'expected a positive integer');
  if (typeof m.negative_prompt !== 'string') fail('negative_prompt', 'expected a string');
  const files = new Map<string, ManifestFile>();
  if (!Array.isArray(m.files)) fail('files', 'expected a list');
  m.files.forEach((f, i) => {
    if (typeof f?.path !== 'string' || f.path.startsWith('/') || f.path.split('/').includes('..'))
      fail(`files[${i}].path`, 'must be a path inside the package');
    if (!/^[0-9a-f]{64}$/.test(String(f.sha256)))
      fail(`files[${i}].sha256`, 'expected 64 lowercase hex digits');
    if (!Number.isInteger(f.bytes) || f.bytes < 0) fail(`files[${i}].bytes`, 'expected a byte count');
    files.set(f.path, f);
  });
  const dtypes = Object.keys(m.dtypes ?? {});
  if (dtypes.length === 0) fail('dtypes', 'no dtype');
  for (const d of dtypes) {
    if (!(DTYPES as readonly string[]).includes(d))
      fail(`dtypes.${d}`, `unknown dtype (expected one of ${DTYPES.join(', ')})`);
    for (const g of GRAPH_NAMES) {
      const entry = m.dtypes[d as Dtype]!.graphs?.[g];
      if (!entry) fail(`dtypes.${d}.graphs.${g}`, 'missing');
      for (const p of [entry.file, ...(entry.external_data ?? [])])
        if (!files.has(p)) fail(`dtypes.${d}.graphs.${g}`, `${p} is not listed in files (no checksum)`);
      for (const p of entry.external_data ?? []) {
        // The graph names its chunks by file name, so the runtime finds them beside the graph.
        if (folderOf(p) !== folderOf(entry.file) || p === entry.file)
          fail(`dtypes.${d}.graphs.${g}.external_data`, `${p} is not a separate file beside ${entry.file}`);
        if (files.get(p)!.bytes > MAX_CHUNK_BYTES)
          fail(
            `dtypes.${d}.graphs.${g}.external_data`,
            `${p} has ${files.get(p)!.bytes} bytes; chunks must stay under 2 GiB`,
          );
      }
      const table = entry.token_table;
      if (table) {
        const where = `dtypes.${d}.graphs.${g}.token_table`;
        if (g !== 'text_llm') fail(where, 'only text_llm has a token table');
        const f = files.get(table.file) ?? fail(where, `${table.file} is not listed in files (no checksum)`);
        // read by rows only (never whole), so it may be larger than a graph chunk
        if (f.bytes !== table.rows * table.row_bytes)
          fail(where, `${table.file} has ${f.bytes} bytes, not ${table.rows} rows of ${table.row_bytes}`);
      }
    }
  }
  for (const k of ['clip', 'llm'] as const) {
    const t = m.tokenizers?.[k];
    if (!t || !Array.isArray(t.files)) fail(`tokenizers.${k}`, 'missing');
    if (!t.files.some((p) => p.endsWith('tokenizer.json')))
      fail(`tokenizers.${k}.files`, 'has no tokenizer.json');
    for (const p of t.files)
      if (!files.has(p)) fail(`tokenizers.${k}.files`, `${p} is not listed in files (no checksum)`);
    if (!Number.isInteger(t.pad_id)) fail(`tokenizers.${k}.pad_id`, 'expected an integer');
  }
  if (!Array.isArray(m.codebook_colors) || m.codebook_colors.length !== c.codebook_size)
    fail('codebook_colors', `expected ${c.codebook_size} [r, g, b] entries`);
  for (const { path: p } of m.domain?.examples ?? [])
    if (!files.has(p)) fail('domain.examples', `${p} is not listed in files (no checksum)`);
  return m;
}

/** The files (graph, external data) a dtype needs, the tokenizer files and the token table (if any), with checksums. */
export function packageFiles(
  m: Manifest,
  dtype: Dtype,
): { graphs: Record<GraphName, ManifestFile[]>; tokenizers: ManifestFile[]; tokenTable?: ManifestFile } {
  const byPath = new Map(m.files.map((f) => [f.path, f]));
  const get = (p: string): ManifestFile => byPath.get(p) ?? fail('files', `${p} is not listed`);
  const graphs = {} as Record<GraphName, ManifestFile[]>;
  for (const g of GRAPH_NAMES) {
    const e = m.dtypes[dtype]!.graphs[g];
    graphs[g] = [e.file, ...(e.external_data ?? [])].map(get);
  }
  const table = m.dtypes[dtype]!.graphs.text_llm.token_table;
  const tokenizers = [...m.tokenizers.clip.files, ...m.tokenizers.llm.files].map(get);
  return table ? { graphs, tokenizers, tokenTable: get(table.file) } : { graphs, tokenizers };
}

/** What the edit loop needs, from a validated manifest. */
export function specFromManifest(m: Manifest): ModelSpec {
  const c = m.config;
  const geo = c.resolutions[String(c.resolution)]!;
  const colors = Uint8Array.from(m.codebook_colors.flat(), (v) => Math.round(v * 255));
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
    temperature: [m.defaults.temperature[0], m.defaults.temperature[1]],
    aestheticScore: c.micro_conds[4] ?? 6,
    codebookColors: colors,
  };
}
