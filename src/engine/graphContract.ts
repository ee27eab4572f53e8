/**
 * A loaded graph checked against the manifest's declaration of it: a package whose graphs do
 * not match (swapped files, another grid or resolution) is refused at load, with a message
 * naming the graph, instead of loading as ready and failing every edit with runtime text.
 */
import { EditError } from './errors';
import type { Dtype, Manifest } from './manifest.types';
import type { GraphName, GraphSignature, TensorSignature } from './ports';
import { TOKEN_ROW_BYTES } from './tokenTable';

function dims(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** Where a session's tensor differs from the declared one, or null when it matches. */
function tensorMismatch(
  kind: 'input' | 'output',
  declared: Manifest['graphs'][GraphName]['inputs'][number],
  actual: TensorSignature,
): string | null {
  if (actual.dtype !== undefined && actual.dtype !== declared.dtype)
    return `${kind} '${declared.name}' is ${actual.dtype}, the manifest says ${declared.dtype}`;
  if (actual.shape === undefined) return null;
  const a = actual.shape;
  const d = declared.shape;
  // A named (free) dimension on either side matches any size; fixed sizes must agree.
  const same =
    a.length === d.length &&
    a.every((x, i) => typeof x !== 'number' || typeof d[i] !== 'number' || x === d[i]);
  return same ? null : `${kind} '${declared.name}' has shape ${dims(a)}, the manifest says ${dims(d)}`;
}

function listMismatch(
  kind: 'input' | 'output',
  declared: Manifest['graphs'][GraphName]['inputs'],
  actual: readonly TensorSignature[],
): string | null {
  const byName = new Map(actual.map((t) => [t.name, t]));
  for (const t of declared) {
    const got = byName.get(t.name);
    if (!got) return `${kind} '${t.name}' is missing`;
    const why = tensorMismatch(kind, t, got);
    if (why) return why;
  }
  const extra = actual.find((t) => !declared.some((d) => d.name === t.name));
  return extra ? `it has an ${kind} '${extra.name}' the manifest does not declare` : null;
}

/**
 * Throws EditError('bad-manifest') when the loaded graph's inputs or outputs differ from the
 * manifest's `graphs` entry (names always; dtypes and shapes where the runtime reports them).
 */
export function checkGraphSignature(graph: GraphName, manifest: Manifest, actual: GraphSignature): void {
  const declared = manifest.graphs[graph];
  const why =
    listMismatch('input', declared.inputs, actual.inputs) ??
    listMismatch('output', declared.outputs, actual.outputs);
  if (why)
    throw new EditError(
      'bad-manifest',
      `model graph ${graph} does not match its manifest: ${why}. The package is damaged or its files are mixed up; download it again.`,
    );
}

/** One tensor's axes that a config value fixes (null: an axis the config says nothing about). */
interface ShapeRule {
  readonly graph: GraphName;
  readonly kind: 'input' | 'output';
  readonly tensor: string;
  /** The manifest field the axes come from. */
  readonly field: string;
  readonly axes: readonly (number | null)[];
}

/**
 * The shapes the config states for each graph tensor the engine feeds or reads: the resolution,
 * the token and attention grids, the text lengths and widths, the micro-conditions.
 */
function shapeRules(m: Manifest): ShapeRule[] {
  const c = m.config;
  const res = `config.resolutions.${c.resolution}`;
  const geo = c.resolutions[String(c.resolution)]!;
  const [h, w] = geo.token_grid;
  const [th, tw] = geo.transformer_grid;
  const { clip_length: lc, llm_length: ll, clip_dim: dc, llm_dim: dl } = c.text;
  const r = c.resolution;
  const rule = (
    graph: GraphName,
    kind: 'input' | 'output',
    tensor: string,
    field: string,
    axes: (number | null)[],
  ): ShapeRule => ({ graph, kind, tensor, field, axes });
  return [
    rule('vq_encode', 'input', 'pixels', 'config.resolution', [null, null, r, r]),
    rule('vq_decode', 'output', 'pixels', 'config.resolution', [null, null, r, r]),
    rule('vq_encode', 'output', 'ids', `${res}.token_grid`, [null, h, w]),
    rule('vq_decode', 'input', 'ids', `${res}.token_grid`, [null, h, w]),
    rule('transformer_step', 'input', 'tokens', `${res}.token_grid`, [null, h, w]),
    rule('transformer_step', 'input', 'ref_tokens', `${res}.token_grid`, [null, h, w]),
    rule('transformer_step', 'input', 'uniforms', `${res}.token_grid`, [null, h * w]),
    rule('transformer_step', 'output', 'drawn_ids', `${res}.token_grid`, [null, h * w]),
    rule('transformer_step', 'output', 'drawn_probs', `${res}.token_grid`, [null, h * w]),
    rule('transformer_step', 'output', 'ref_probs', `${res}.token_grid`, [null, h * w]),
    rule('transformer_step', 'output', 'attention', `${res}.transformer_grid`, [null, th * tw]),
    rule('transformer_step', 'input', 'micro_conds', 'config.micro_conds', [null, c.micro_conds.length]),
    rule('text_clip', 'input', 'input_ids', 'config.text.clip_length', [null, lc]),
    rule('text_clip', 'output', 'text_embeds', 'config.text.clip_dim', [null, dc]),
    rule('transformer_step', 'input', 'pooled', 'config.text.clip_dim', [null, dc]),
    rule('text_llm', 'input', 'input_ids', 'config.text.llm_length', [null, ll]),
    rule('text_llm', 'input', 'inputs_embeds', 'config.text.llm_length', [null, ll, null]),
    rule('text_llm', 'input', 'inputs_embeds', 'config.text.llm_dim', [null, null, dl]),
    rule('text_llm', 'input', 'attention_mask', 'config.text.llm_length', [null, ll]),
    rule('text_llm', 'output', 'hidden_states', 'config.text.llm_length', [null, ll, null]),
    rule('text_llm', 'output', 'hidden_states', 'config.text.llm_dim', [null, null, dl]),
    rule('transformer_step', 'input', 'text_states', 'config.text.llm_length', [null, ll, null]),
    rule('transformer_step', 'input', 'text_states', 'config.text.llm_dim', [null, null, dl]),
    rule('transformer_step', 'input', 'text_weights', 'config.text.llm_length', [ll]),
  ];
}

function configValue(m: Manifest, field: string): string {
  const value = field
    .split('.')
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      m,
    );
  return JSON.stringify(value)?.replace(/,/g, ', ') ?? 'missing';
}

/**
 * Throws EditError('bad-manifest') naming the field when the manifest's config disagrees with
 * the shapes its graphs are declared with (the load then checks the graphs against those
 * declarations), or when the token table of `dtype` does not fit the text_llm graph: a package
 * whose every edit would fail is refused at load, before any download.
 */
export function checkDeclaredShapes(m: Manifest, dtype: Dtype): void {
  for (const r of shapeRules(m)) {
    const list = r.kind === 'input' ? m.graphs[r.graph].inputs : m.graphs[r.graph].outputs;
    const t = list.find((x) => x.name === r.tensor);
    if (!t) continue;
    const fits =
      t.shape.length === r.axes.length &&
      r.axes.every((a, i) => a === null || typeof t.shape[i] !== 'number' || t.shape[i] === a);
    if (!fits)
      throw new EditError(
        'bad-manifest',
        `manifest ${r.field}: ${configValue(m, r.field)} disagrees with the graphs: ${r.graph} ${r.kind} '${r.tensor}' has shape ${dims(t.shape)}`,
      );
  }
  const where = `dtypes.${dtype}.graphs.text_llm.token_table`;
  const table = m.dtypes[dtype]!.graphs.text_llm.token_table;
  const embeds = m.graphs.text_llm.inputs.find((t) => t.name === 'inputs_embeds');
  const fail = (field: string, what: string): never => {
    throw new EditError('bad-manifest', `manifest ${field}: ${what}`);
  };
  if (embeds && !table)
    fail(where, 'missing: the text_llm graph takes inputs_embeds, so the package needs its token table');
  if (!table) return;
  if (!embeds)
    return fail(where, 'the text_llm graph takes no inputs_embeds, so a token table cannot feed it');
  const rowBytes = TOKEN_ROW_BYTES[table.format](table.dim);
  if (table.row_bytes !== rowBytes)
    fail(
      `${where}.row_bytes`,
      `${table.format} rows of ${table.dim} values take ${rowBytes} bytes, not ${table.row_bytes}`,
    );
  const width = embeds.shape[2];
  if (typeof width === 'number' && table.dim !== width)
    fail(
      `${where}.dim`,
      `${table.dim} values a row, but the text_llm graph takes inputs_embeds of width ${width} (shape ${dims(embeds.shape)})`,
    );
  if (table.dim !== m.config.text.llm_dim)
    fail(`${where}.dim`, `${table.dim} values a row, but config.text.llm_dim is ${m.config.text.llm_dim}`);
}
