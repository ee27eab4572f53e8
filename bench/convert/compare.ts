/**
 * Is a converted package the exporter's package? Every file either manifest lists is compared
 * byte for byte (manifest.json last, as its digests differ whenever a file does), and the
 * manifests field by field after the fields a second converter may write differently are set to
 * the reference's:
 * - `generator` (which tool, which versions);
 * - `codebook_colors`, when every value is within `colorTolerance` of the reference's (a VQ decode
 *   whose float32 sums run in another order, then rounded to 6 decimals);
 * - `source.revision`, only with `ignoreRevision` (the exporter's content hash names the
 *   checkpoint folder's files, so it differs for the same weights in another layout).
 * The model card (README.md, NOTICE) and any other file no manifest lists are outside the
 * package's identity: they are returned as `unlisted`, not compared.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The converter tests' bound on `codebook_colors` (src/engine/runtime/node/convert/convert.test.ts). */
export const COLOR_TOLERANCE = 1e-5;

export interface CompareOptions {
  readonly colorTolerance?: number;
  readonly ignoreRevision?: boolean;
  /**
   * `package` (default): the candidate is a whole package. `graph-files`: the candidate holds
   * only graph files (a converter that writes no manifest or tokenizers): each file the
   * reference lists in the dtype folders the candidate has is compared; the manifest is not.
   */
  readonly scope?: 'package' | 'graph-files';
}

export interface Comparison {
  readonly identical: boolean;
  /** files compared, manifest.json included when compared */
  readonly files: number;
  /** the first file that differs, in path order with manifest.json last */
  readonly firstDifference?: { readonly file: string; readonly why: string };
  /** how many compared files differ */
  readonly differing: number;
  /** the largest |ours − theirs| over `codebook_colors`, when both manifests have them */
  readonly colorMaxDiff?: number;
  /** files in the candidate folder that its manifest (graph-files: the reference's) does not list */
  readonly unlisted: readonly string[];
  /** what was set to the reference's before the manifests were compared */
  readonly ignored: readonly string[];
}

/** Every file under `dir`, as `/`-separated paths, sorted. */
export function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, p));
    else out.push(p);
  }
  return out.sort();
}

/** The paths a package's manifest lists in `files`. */
function listed(dir: string): string[] {
  const path = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { files?: { path?: unknown }[] };
  if (!Array.isArray(manifest.files)) throw new Error(`${path} has no files list`);
  return manifest.files.flatMap((f) => (typeof f.path === 'string' ? [f.path] : []));
}

/** Why two files differ (missing, size, or the first differing byte), or undefined when equal. */
export function fileDifference(ours: string, theirs: string): string | undefined {
  const a = existsSync(ours);
  const b = existsSync(theirs);
  if (!a && !b) return undefined;
  if (!a) return 'missing from the converted package';
  if (!b) return 'not in the reference package';
  const sa = statSync(ours).size;
  const sb = statSync(theirs).size;
  if (sa !== sb) return `${sa} bytes, the reference has ${sb}`;
  const fa = openSync(ours, 'r');
  const fb = openSync(theirs, 'r');
  try {
    const block = 1 << 20;
    const ba = Buffer.alloc(block);
    const bb = Buffer.alloc(block);
    for (let at = 0; at < sa; at += block) {
      const n = readSync(fa, ba, 0, block, at);
      readSync(fb, bb, 0, block, at);
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) {
        let i = 0;
        while (ba[i] === bb[i]) i++;
        return `first differing byte at offset ${at + i}`;
      }
    }
    return undefined;
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/** Every number in a JSON value (nested arrays flattened). */
function numbers(value: unknown): number[] {
  if (Array.isArray(value)) return value.flatMap(numbers);
  return typeof value === 'number' ? [value] : [];
}

/**
 * A manifest's text split into its top-level fields, as the exporter writes it
 * (`json.dumps(indent=1)`: each top-level key on a line of its own with one space of indent), so
 * the bytes are compared as written, number texts included (JSON.parse would make `6.0` and `6`
 * alike).
 */
export function topLevelFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let key: string | undefined;
  let lines: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^ "((?:[^"\\]|\\.)*)": /.exec(line);
    if (m || line === '}') {
      if (key !== undefined) out.set(key, lines.join('\n').replace(/,$/, ''));
      key = m?.[1];
      lines = [];
    }
    if (key !== undefined) lines.push(line);
  }
  return out;
}

/** Why the manifests differ once the ignored fields are set aside, or no `why` when they agree. */
function manifestDifference(
  candidate: string,
  reference: string,
  options: CompareOptions,
): { why?: string; colorMaxDiff?: number; ignored: string[] } {
  const tolerance = options.colorTolerance ?? COLOR_TOLERANCE;
  const ignored: string[] = [];
  const oursText = readFileSync(join(candidate, 'manifest.json'), 'utf8');
  const theirsText = readFileSync(join(reference, 'manifest.json'), 'utf8');
  const ours = JSON.parse(oursText) as Record<string, unknown>;
  const theirs = JSON.parse(theirsText) as Record<string, unknown>;
  let colorMaxDiff: number | undefined;
  const a = numbers(ours['codebook_colors']);
  const b = numbers(theirs['codebook_colors']);
  const skip = new Set<string>();
  if (a.length && a.length === b.length) {
    colorMaxDiff = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
    if (colorMaxDiff > tolerance)
      return {
        why: `codebook_colors up to ${colorMaxDiff.toPrecision(2)} apart (tolerance ${tolerance})`,
        colorMaxDiff,
        ignored,
      };
    skip.add('codebook_colors');
    ignored.push(`codebook_colors (within ${tolerance})`);
  }
  if ('generator' in ours && 'generator' in theirs) {
    skip.add('generator');
    ignored.push('generator');
  }
  if (oursText === theirsText) return { colorMaxDiff, ignored: [] };
  const x = topLevelFields(oursText);
  const y = topLevelFields(theirsText);
  if (x.size === 0 || y.size === 0)
    return { why: "not in the exporter's format (indent 1)", colorMaxDiff, ignored };
  const withoutRevision = (t: string | undefined) =>
    t?.replace(/^ {2}"revision": [^\n]*\n/m, '').replace(/,(\n \})$/, '$1');
  if (options.ignoreRevision) ignored.push('source.revision');
  const keysX = [...x.keys()];
  const keysY = [...y.keys()];
  for (let i = 0; i < Math.max(keysX.length, keysY.length); i++) {
    const k = keysX[i] ?? keysY[i]!;
    if (keysX[i] !== keysY[i])
      return { why: `field ${k} is not where the reference has it`, colorMaxDiff, ignored };
    if (skip.has(k)) continue;
    let p = x.get(k);
    let q = y.get(k);
    if (k === 'source' && options.ignoreRevision) {
      p = withoutRevision(p);
      q = withoutRevision(q);
    }
    if (p !== q) {
      let where = `field ${k}`;
      if (k === 'files' && Array.isArray(ours['files']) && Array.isArray(theirs['files'])) {
        const f = ours['files'] as { path?: string }[];
        const g = theirs['files'] as { path?: string }[];
        const n = f.findIndex((e, j) => JSON.stringify(e) !== JSON.stringify(g[j]));
        const path = (f[n] ?? g[f.length])?.path;
        if (path) where += ` (the entry of ${path})`;
      }
      return { why: `${where} differs`, colorMaxDiff, ignored };
    }
  }
  return { colorMaxDiff, ignored };
}

/** Compares the package at `candidate` with the reference package at `reference`. */
export function comparePackages(
  candidate: string,
  reference: string,
  options: CompareOptions = {},
): Comparison {
  const theirList = listed(reference);
  const present = filesUnder(candidate);
  const whole = (options.scope ?? 'package') === 'package';
  let paths: string[];
  let unlisted: string[];
  if (whole) {
    const ourList = listed(candidate);
    paths = [...new Set([...ourList, ...theirList])].filter((p) => p !== 'manifest.json').sort();
    const known = new Set([...ourList, 'manifest.json']);
    unlisted = present.filter((p) => !known.has(p));
  } else {
    // the reference's files in the dtype folders the converter wrote; files it wrote that the
    // reference does not list (graphs a packager drops) are listed, not compared
    const folders = new Set(present.map((p) => p.split('/')[0]));
    const theirs = new Set(theirList);
    paths = theirList.filter((p) => p.includes('/') && folders.has(p.split('/')[0])).sort();
    unlisted = present.filter((p) => !theirs.has(p));
  }
  const differences: { file: string; why: string }[] = [];
  for (const p of paths) {
    const why = fileDifference(join(candidate, ...p.split('/')), join(reference, ...p.split('/')));
    if (why) differences.push({ file: p, why });
  }
  let colorMaxDiff: number | undefined;
  let ignored: string[] = [];
  if (whole) {
    const m = manifestDifference(candidate, reference, options);
    colorMaxDiff = m.colorMaxDiff;
    ignored = m.ignored;
    if (m.why) differences.push({ file: 'manifest.json', why: m.why });
  }
  return {
    identical: differences.length === 0,
    files: paths.length + (whole ? 1 : 0),
    firstDifference: differences[0],
    differing: differences.length,
    colorMaxDiff,
    unlisted,
    ignored,
  };
}
