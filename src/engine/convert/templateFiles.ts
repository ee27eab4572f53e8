/**
 * What a templates folder's manifest says a conversion writes (docs/convert.md, "What it writes"):
 * - **graphs**: each dtype's graph is written into the folder of its `file` from that folder's
 *   template and weight map. A dtype may name another dtype's files for a graph (templates/shapes:
 *   q8's and q4's VQ graphs compute in fp32 and are fp32's files): that graph is written once,
 *   from the other folder's template, whichever of the dtypes are converted.
 * - **carried files**: every file the manifest lists that is no dtype's graph file and no
 *   tokenizer file (templates/shapes: the domain's example pictures) is in the templates folder
 *   at its package path and is copied verbatim, with the size and sha256 the manifest lists.
 * Works on the manifest's plain JSON (`plain(parsePyJson(…))`), as the worker holds it too.
 */
import { CheckpointError } from './byteSource';

/** One graph a conversion writes: `<folder>/<graph>.*`, from the templates' `<folder>/<graph>.*`. */
export interface TemplateGraph {
  /** the first converted dtype whose manifest entry names these files */
  readonly dtype: string;
  readonly graph: string;
  readonly folder: string;
}

/** A file the templates carry into every package they make (listed in the manifest's `files`). */
export interface CarriedFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function graphsOf(manifest: unknown, dtype: string, where: string): Json {
  const graphs = obj(obj(obj(obj(manifest)?.['dtypes'])?.[dtype])?.['graphs']);
  if (!graphs) throw new CheckpointError(`${where}: dtypes.${dtype} has no graphs`);
  return graphs;
}

/** The graphs converting `dtypes` writes, each once, in the dtypes' and the manifest's order. */
export function templateGraphs(manifest: unknown, dtypes: readonly string[], where: string): TemplateGraph[] {
  const out: TemplateGraph[] = [];
  const seen = new Set<string>();
  for (const dtype of dtypes)
    for (const [graph, entry] of Object.entries(graphsOf(manifest, dtype, where))) {
      const file = obj(entry)?.['file'];
      const slash = typeof file === 'string' ? file.lastIndexOf('/') : -1;
      if (typeof file !== 'string' || slash <= 0 || file.slice(slash + 1) !== `${graph}.onnx`)
        throw new CheckpointError(
          `${where}: dtypes.${dtype}.graphs.${graph}.file is ${JSON.stringify(file ?? null)}, not <folder>/${graph}.onnx`,
        );
      const folder = file.slice(0, slash);
      if (seen.has(`${folder}/${graph}`)) continue;
      seen.add(`${folder}/${graph}`);
      out.push({ dtype, graph, folder });
    }
  return out;
}

/** A graph entry's files: the graph, its external-data chunks, its token table. */
function graphFiles(entry: unknown): string[] {
  const e = obj(entry);
  const external = e?.['external_data'];
  const table = obj(e?.['token_table'])?.['file'];
  return [e?.['file'], ...(Array.isArray(external) ? external : []), table].filter(
    (p): p is string => typeof p === 'string',
  );
}

/** The package files of `dtypes` that the manifest lists: their graphs' files and the tokenizers'. */
function writtenPaths(manifest: unknown, dtypes: readonly string[], where: string): Set<string> {
  const paths = new Set<string>();
  for (const d of dtypes)
    for (const entry of Object.values(graphsOf(manifest, d, where)))
      for (const p of graphFiles(entry)) paths.add(p);
  for (const tok of Object.values(obj(obj(manifest)?.['tokenizers']) ?? {})) {
    const files = obj(tok)?.['files'];
    if (Array.isArray(files)) for (const p of files) if (typeof p === 'string') paths.add(p);
  }
  return paths;
}

/** The files the templates carry, in the manifest's order (none for templates that carry none). */
export function carriedFiles(manifest: unknown, where: string): CarriedFile[] {
  const all = Object.keys(obj(obj(manifest)?.['dtypes']) ?? {});
  const written = writtenPaths(manifest, all, where);
  const files = obj(manifest)?.['files'];
  const out: CarriedFile[] = [];
  for (const [i, f] of (Array.isArray(files) ? files : []).entries()) {
    const { path, bytes, sha256 } = obj(f) ?? {};
    if (typeof path !== 'string' || written.has(path)) continue;
    if (typeof bytes !== 'number' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))
      throw new CheckpointError(`${where}: files[${i}] (${path}) has no bytes and sha256`);
    if (path.startsWith('/') || path.split('/').some((p) => p === '..' || p === ''))
      throw new CheckpointError(
        `${where}: files[${i}] has the path ${JSON.stringify(path)}, outside the package`,
      );
    out.push({ path, bytes, sha256 });
  }
  return out;
}

/**
 * The paths of the package a conversion in `dtypes` writes, as the templates' manifest lists them
 * (each with the size it has for the build the templates were made from): every converted
 * dtype's graph files, the tokenizers' and the carried files.
 */
export function packagePaths(manifest: unknown, dtypes: readonly string[], where: string): string[] {
  return [...writtenPaths(manifest, dtypes, where), ...carriedFiles(manifest, where).map((f) => f.path)];
}
