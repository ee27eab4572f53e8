/**
 * Checks of a package's verified files at load, before any runtime sees them: each graph's
 * external-data references against the manifest (every file a graph reads is listed, so it was
 * checked by size and sha256, and each tensor's bytes lie inside its file), the token table
 * against the tokenizer and for non-finite rows, and the message for a graph that the runtime
 * cannot load although its checksum matched.
 */
import { EditError } from './errors';
import type { ManifestFile } from './manifest';
import { externalDataRefs, OnnxFormatError } from './onnxRefs';
import type { GraphName } from './ports';
import type { TokenTable } from './tokenTable';

/** What a file whose checksum matched but whose content is wrong means to the person loading it. */
export const MATCHED_CHECKSUM =
  'Its size and sha256 match the manifest, so downloading it again will not help: the package itself holds a damaged or mismatched file.';

type ReadFile = (
  file: ManifestFile,
  range: { readonly start: number; readonly end: number },
) => Promise<Uint8Array>;

const fileName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const folderOf = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);

/**
 * Throws EditError naming the graph and the file when the graph file `files[0]` is not a
 * well-formed ONNX model, refers to external data its manifest entry (`where`) does not list in
 * `files[1…]`, or places a tensor outside its chunk.
 */
export async function checkGraphReferences(
  graph: GraphName,
  where: string,
  files: readonly ManifestFile[],
  read: ReadFile,
): Promise<void> {
  const [model, ...chunks] = files;
  let refs;
  try {
    refs = await externalDataRefs((start, end) => read(model!, { start, end }), model!.bytes);
  } catch (err) {
    if (!(err instanceof OnnxFormatError)) throw err;
    throw new EditError(
      'bad-manifest',
      `model graph ${graph}: ${model!.path} is not a valid ONNX graph (${err.message}; it may be truncated). ${MATCHED_CHECKSUM}`,
    );
  }
  const byName = new Map(chunks.map((c) => [fileName(c.path), c]));
  for (const ref of refs) {
    const chunk = byName.get(ref.location.replace(/^\.\//, '')); // "./name" is the same file beside the graph
    if (!chunk)
      throw new EditError(
        'bad-manifest',
        `model graph ${graph} (${model!.path}) reads tensor '${ref.tensor}' from ${folderOf(model!.path)}${ref.location}, which the manifest does not list in ${where}.external_data, so it cannot be checked; the package is incomplete or its files are mixed up`,
      );
    if (ref.length !== undefined && ref.need !== undefined && ref.length !== ref.need)
      throw new EditError(
        'bad-manifest',
        `model graph ${graph}: ${model!.path} gives tensor '${ref.tensor}' ${ref.length} bytes of external data where its type and shape need ${ref.need}. ${MATCHED_CHECKSUM}`,
      );
    const end = ref.offset + (ref.length ?? ref.need ?? 0);
    if (end > chunk.bytes)
      throw new EditError(
        'bad-manifest',
        `model graph ${graph}: ${chunk.path} does not fit the graph: tensor '${ref.tensor}' takes bytes ${ref.offset}–${end} and the file has ${chunk.bytes}. ${MATCHED_CHECKSUM}`,
      );
  }
}

/** The number of token ids a tokenizer.json can produce: its vocabulary's and added tokens' highest id + 1. */
export function tokenIdCount(tokenizerJson: Record<string, unknown>): number {
  let top = -1;
  const model = tokenizerJson['model'] as { vocab?: unknown } | undefined;
  const vocab = model?.vocab;
  if (Array.isArray(vocab))
    top = vocab.length - 1; // Unigram: [piece, score] pairs, id = index
  else if (vocab && typeof vocab === 'object')
    for (const id of Object.values(vocab)) if (typeof id === 'number' && id > top) top = id;
  const added = tokenizerJson['added_tokens'];
  if (Array.isArray(added))
    for (const t of added) {
      const id = (t as { id?: unknown } | null)?.id;
      if (typeof id === 'number' && id > top) top = id;
    }
  return top + 1;
}

/** Rows read to look for non-finite values: the first, the last and evenly spread ones between. */
export const TABLE_SAMPLE_ROWS = 64;

/**
 * Throws EditError naming the field when the token table (manifest entry `where`) has fewer rows
 * than the tokenizer (`tokenizerPath`) has ids, or when a sample of its rows holds NaN or ±Infinity.
 */
export async function checkTokenTable(
  table: TokenTable,
  where: string,
  idCount: number,
  tokenizerPath: string,
): Promise<void> {
  const { rows, file } = table.spec;
  if (rows < idCount)
    throw new EditError(
      'bad-manifest',
      `manifest ${where}.rows: the token table ${file} has ${rows} rows, but the tokenizer ${tokenizerPath} has ${idCount} token ids`,
    );
  const n = Math.min(rows, TABLE_SAMPLE_ROWS);
  const ids = Int32Array.from({ length: n }, (_, i) =>
    n === 1 ? 0 : Math.round((i * (rows - 1)) / (n - 1)),
  );
  const values = await table.rows(ids);
  const dim = table.spec.dim;
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new EditError(
      'bad-manifest',
      `manifest ${where}: row ${ids[Math.floor(bad / dim)]} of the token table ${file} holds ${values[bad]}, so every prompt would give non-finite text states. ${MATCHED_CHECKSUM}`,
    );
}

/** Runtime messages that mean memory ran out, not that a file is wrong. */
const MEMORY_TEXT = /out of memory|OutOfMemory|\bOOM\b|bad_alloc|failed to allocate|allocation failed/i;

/** Whether a failure to create a graph's session may be the file's fault (not a cancel, not memory). */
export function mayBeFileFault(err: unknown): boolean {
  if (err instanceof EditError) return false;
  if ((err as { name?: unknown } | null)?.name === 'AbortError') return false;
  return !MEMORY_TEXT.test(String((err as Error | null)?.message ?? err));
}

/** EditError blaming the graph file that the runtime could not load, with the runtime's first line. */
export function damagedGraph(graph: GraphName, file: ManifestFile, err: unknown): EditError {
  const reason = String((err as Error | null)?.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0)
    ?.slice(0, 300);
  return new EditError(
    'bad-manifest',
    `model graph ${graph}: ${file.path} cannot be loaded by the runtime (${reason ?? 'no reason given'}). ${MATCHED_CHECKSUM}`,
  );
}
