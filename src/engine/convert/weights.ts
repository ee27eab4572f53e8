/**
 * The weights of one checkpoint subfolder (`text_encoder/`, `vqvae/`, …) behind one name → tensor
 * view, read the way transformers and diffusers save them:
 *
 * - **single or sharded**: `model.safetensors`, or shards with an index
 *   (`model.safetensors.index.json`, `diffusion_pytorch_model.safetensors.index.json`) whose
 *   `weight_map` decides which file holds which tensor. A tensor the index names but its shard
 *   lacks, or a shard the index names but the folder lacks, is an error. Without an index the files
 *   must be one model's single file, or all its shards (`-0000k-of-0000n`, every k); a tensor
 *   found in two files is an error (never "the last one read wins").
 * - **variants**: files such as `model.fp16.safetensors`, `model.fp16-00001-of-00002.safetensors`,
 *   `model.safetensors.index.fp16.json` or `model.fp16.safetensors.index.json` carry a variant
 *   (`fp16`). The rule: the full-precision, non-variant files are read whenever the folder has
 *   them, and every variant file beside them is ignored (the variant is a lossy copy saved for
 *   smaller downloads; the non-variant files are what a loader reads when no variant is asked for).
 *   A folder holding exactly one variant and no non-variant files is read as that variant (the
 *   `variant` field says so). Several variants and no non-variant files: refused unless the caller
 *   names one. Files of two variants are never mixed.
 * - **pickles**: a folder whose only weights are `.bin` / `.pt` / `.pth` / `.ckpt` / `.pkl` / `.pickle` files is refused;
 *   they are never unpickled (unpickling runs code).
 */
import { CheckpointError, readJsonObject } from './byteSource';
import type { CheckpointSource } from './byteSource';
import {
  checkFloatDtype,
  readSafetensorsHeader,
  readTensorBytes,
  readTensorFloat32,
  readTensorRows,
} from './safetensors';
import type { SafetensorsFile, TensorEntry } from './safetensors';

const PICKLE = /\.(bin|pt|pth|ckpt|pkl|pickle)$/i;
const SHARD = /-(\d+)-of-(\d+)/;

/** What a weights file name says: index or weights, its stem and its variant ('' for none). */
export interface WeightFileName {
  readonly kind: 'weights' | 'index';
  readonly stem: string;
  readonly variant: string;
  /** `-0000k-of-0000n` in the name */
  readonly shard?: { readonly part: number; readonly of: number };
}

function splitVariant(base: string): { stem: string; variant: string } {
  const dot = base.lastIndexOf('.');
  return dot < 0 ? { stem: base, variant: '' } : { stem: base.slice(0, dot), variant: base.slice(dot + 1) };
}

/** Classifies a file name (no folder) as safetensors weights or a shard index; other files give undefined. */
export function classifyWeightFile(fileName: string): WeightFileName | undefined {
  let m = /^(.+)\.safetensors\.index\.json$/.exec(fileName);
  if (m) return { kind: 'index', ...splitVariant(m[1]!) };
  m = /^(.+)\.safetensors\.index\.([^.]+)\.json$/.exec(fileName);
  if (m) return { kind: 'index', stem: m[1]!, variant: m[2]! };
  m = /^(.+)\.safetensors$/.exec(fileName);
  if (!m) return undefined;
  const shard = SHARD.exec(m[1]!);
  return {
    kind: 'weights',
    ...splitVariant(m[1]!.replace(SHARD, '')),
    ...(shard ? { shard: { part: Number(shard[1]), of: Number(shard[2]) } } : {}),
  };
}

/** A tensor as the view exposes it: its header entry and the file it is in (relative to the checkpoint). */
export interface WeightTensor extends TensorEntry {
  readonly file: string;
}

interface Stored {
  readonly file: SafetensorsFile;
  readonly path: string;
  readonly entry: TensorEntry;
}

/** One subfolder's tensors by name; reads go by byte range to the file that holds each. */
export class CheckpointWeights {
  constructor(
    /** `source/subfolder`, for messages */
    readonly where: string,
    /** the variant read (`fp16`), or undefined for the full-precision files */
    readonly variant: string | undefined,
    /** the files read, relative to the checkpoint */
    readonly files: readonly string[],
    private readonly stored: ReadonlyMap<string, Stored>,
    /** exposed name → stored name, for names that differ */
    private readonly aliases: ReadonlyMap<string, string> = new Map(),
    private readonly hidden: ReadonlySet<string> = new Set(),
  ) {}

  /** Every tensor name the view exposes (aliases included), in a stable order. */
  names(): string[] {
    const own = [...this.stored.keys()].filter((n) => !this.hidden.has(n));
    return [...own, ...[...this.aliases.keys()].filter((a) => !own.includes(a))].sort();
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  private lookup(name: string): Stored | undefined {
    const alias = this.aliases.get(name);
    if (alias !== undefined) return this.stored.get(alias);
    return this.hidden.has(name) ? undefined : this.stored.get(name);
  }

  private need(name: string): Stored {
    const s = this.lookup(name);
    if (!s) throw new CheckpointError(`${this.where}: the checkpoint has no tensor '${name}'`);
    return s;
  }

  /** The tensor's dtype, shape and file, under the name asked for. */
  tensor(name: string): WeightTensor {
    const s = this.need(name);
    return { ...s.entry, name, file: s.path };
  }

  async readBytes(name: string, signal?: AbortSignal): Promise<Uint8Array> {
    const s = this.need(name);
    return readTensorBytes(s.file, s.entry.name, signal);
  }

  /** The whole tensor as float32 (F32, F16 and BF16 exactly; other dtypes refused, naming the tensor). */
  async readFloat32(name: string, signal?: AbortSignal): Promise<Float32Array> {
    const s = this.need(name);
    checkFloatDtype(s.entry, s.file.source.name);
    return readTensorFloat32(s.file, s.entry.name, signal);
  }

  /** Rows `[rowStart, rowEnd)` (first dimension) as float32; only those rows' bytes are read. */
  async readRows(
    name: string,
    rowStart: number,
    rowEnd: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    const s = this.need(name);
    return readTensorRows(s.file, s.entry.name, rowStart, rowEnd, signal);
  }

  /**
   * The same tensors under other names: `aliases` maps an exposed name to a stored one,
   * `rename` maps stored names to exposed ones (a stored name renamed is no longer exposed).
   */
  withNames(aliases: ReadonlyMap<string, string>, rename?: (stored: string) => string): CheckpointWeights {
    const all = new Map(this.aliases);
    const hidden = new Set(this.hidden);
    if (rename)
      for (const n of this.stored.keys()) {
        const to = rename(n);
        if (to !== n) {
          all.set(to, n);
          hidden.add(n);
        }
      }
    for (const [from, to] of aliases) all.set(from, all.get(to) ?? to);
    return new CheckpointWeights(this.where, this.variant, this.files, this.stored, all, hidden);
  }
}

export interface OpenWeightsOptions {
  /** read this variant's files (`fp16`) instead of the default rule */
  readonly variant?: string;
  readonly signal?: AbortSignal;
}

function chooseVariant(where: string, variants: Set<string>, asked: string | undefined): string {
  const named = [...variants]
    .sort()
    .map((v) => (v === '' ? '(none)' : v))
    .join(', ');
  if (asked !== undefined) {
    if (!variants.has(asked))
      throw new CheckpointError(`${where} has no '${asked}' variant (it has: ${named})`);
    return asked;
  }
  if (variants.has('')) return '';
  if (variants.size === 1) return [...variants][0]!;
  throw new CheckpointError(
    `${where} has only variant weights, of several variants (${named}): say which one to read`,
  );
}

/**
 * Without an index, the files must be one model's: one file, or every shard `k` of `n` (as the
 * Python exporter's reader requires).
 */
function checkShards(where: string, files: readonly (WeightFileName & { name: string })[]): void {
  if (files.length === 0)
    throw new CheckpointError(`${where} has an index of another variant but no weight files`);
  const stems = [...new Set(files.map((f) => f.stem))];
  if (stems.length > 1)
    throw new CheckpointError(
      `${where} holds the weights of more than one model: ${files.map((f) => f.name).join(', ')}`,
    );
  const singles = files.filter((f) => !f.shard);
  const shards = files.filter((f) => f.shard);
  if (singles.length && shards.length)
    throw new CheckpointError(
      `${where} has both ${singles[0]!.name} and shards (${shards[0]!.name}, …) and no index saying which to read`,
    );
  if (!shards.length) return;
  const counts = new Set(shards.map((f) => f.shard!.of));
  if (counts.size > 1)
    throw new CheckpointError(
      `${where}: shards of different counts (${shards.map((f) => f.name).join(', ')})`,
    );
  const n = [...counts][0]!;
  const have = new Set(shards.map((f) => f.shard!.part));
  for (let k = 1; k <= n; k++)
    if (!have.has(k))
      throw new CheckpointError(
        `${where}: shard ${k} of ${n} is missing (found ${shards.map((f) => f.name).join(', ')})`,
      );
}

/** Opens the safetensors weights of `subfolder` (see the module comment for the rules). */
export async function openWeights(
  source: CheckpointSource,
  subfolder: string,
  options: OpenWeightsOptions = {},
): Promise<CheckpointWeights> {
  const { signal } = options;
  const where = `${source.name}/${subfolder}`;
  const prefix = `${subfolder}/`;
  const names = (await source.list(signal))
    .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
    .map((p) => p.slice(prefix.length));
  const classified = names.flatMap((n) => {
    const c = classifyWeightFile(n);
    return c ? [{ name: n, ...c }] : [];
  });
  if (classified.length === 0) {
    const pickles = names.filter((n) => PICKLE.test(n));
    if (pickles.length)
      throw new CheckpointError(
        `${where} holds only PyTorch pickle weights (${pickles.join(', ')}) and no .safetensors files; pickles are never loaded, since loading one can run code. Save the model with safetensors (save_pretrained(..., safe_serialization=True)) and convert that`,
      );
    throw new CheckpointError(`${where} has no .safetensors weights`);
  }
  const variant = chooseVariant(where, new Set(classified.map((c) => c.variant)), options.variant);
  const group = classified.filter((c) => c.variant === variant);
  const indexes = group.filter((c) => c.kind === 'index');
  if (indexes.length > 1)
    throw new CheckpointError(
      `${where} has several shard indexes (${indexes.map((i) => i.name).join(', ')}); expected one`,
    );

  const headers = new Map<string, SafetensorsFile>();
  const header = async (fileName: string) => {
    let h = headers.get(fileName);
    if (!h) {
      h = await readSafetensorsHeader(await source.open(prefix + fileName, signal), signal);
      headers.set(fileName, h);
    }
    return h;
  };
  const stored = new Map<string, Stored>();

  if (indexes.length === 1) {
    const indexName = indexes[0]!.name;
    const index = await readJsonObject(source, prefix + indexName, signal);
    const map = index['weight_map'];
    if (!map || typeof map !== 'object' || Array.isArray(map) || Object.keys(map).length === 0)
      throw new CheckpointError(`${where}/${indexName} has no weight_map object`);
    for (const [tensor, file] of Object.entries(map as Record<string, unknown>)) {
      if (typeof file !== 'string' || file.includes('/') || file.includes('\\'))
        throw new CheckpointError(
          `${where}/${indexName}: weight_map['${tensor}'] is not a file name in the folder`,
        );
      if (!names.includes(file))
        throw new CheckpointError(
          `${where}/${indexName} puts tensor '${tensor}' in ${file}, which the folder does not have`,
        );
      const h = await header(file);
      const entry = h.tensors.get(tensor);
      if (!entry)
        throw new CheckpointError(
          `${where}/${indexName} puts tensor '${tensor}' in ${file}, but ${file} has no such tensor`,
        );
      stored.set(tensor, { file: h, path: prefix + file, entry });
    }
  } else {
    const weightFiles = group.filter((g) => g.kind === 'weights').sort((a, b) => (a.name < b.name ? -1 : 1));
    checkShards(where, weightFiles);
    for (const c of weightFiles) {
      const h = await header(c.name);
      for (const [tensor, entry] of h.tensors) {
        const before = stored.get(tensor);
        if (before)
          throw new CheckpointError(
            `${where}: tensor '${tensor}' is in both ${before.path.slice(prefix.length)} and ${c.name}, and no index says which to read`,
          );
        stored.set(tensor, { file: h, path: prefix + c.name, entry });
      }
    }
  }
  const files = [...headers.keys()].sort().map((f) => prefix + f);
  return new CheckpointWeights(where, variant === '' ? undefined : variant, files, stored);
}
