/**
 * Opens a model package from a folder or an http(s) URL (downloaded once into a cache folder:
 * the `cacheDir` option, `$EDITMGT_CACHE` or ~/.cache/editmgt-web) on onnxruntime-node: the node
 * adapters (a folder file source, the node graph runtime) of the engine's one package opener
 * (package.ts). Tokenizer files always come from the package, never a remote hub.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../../errors';
import { checkTokenizerSizes, packageFiles, validateManifest } from '../../manifest';
import type { Dtype, ManifestFile, TokenizerEntry } from '../../manifest';
import { chooseDtype, openModelPackage, packageTokenizer } from '../../package';
import type { FileSource, GraphRuntime, OpenedPackage } from '../../package';
import type { LoadProgress } from '../../editor';
import type { MemoryPolicy } from '../../pipeline';
import type { GraphName, Tokenizer } from '../../ports';
import { cacheRoot, checkDownloadSpace, downloadFile, fetchBounded } from './download';
import {
  MAX_MANIFEST_BYTES,
  MAX_TOKENIZER_BYTES,
  parseManifestJson,
  readLocalFile,
  writeFileAtomic,
  ReadError,
} from './localFiles';
import { readManifest } from './manifestFile';
import { OrtNodeRunner } from './ortNodeRunner';

export interface OpenPackage extends OpenedPackage<OrtNodeRunner> {
  readonly dir: string;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function verify(dir: string, f: ManifestFile): Promise<string> {
  const path = join(dir, f.path);
  if (!existsSync(path)) throw new EditError('bad-manifest', `model file ${f.path} is missing`);
  const size = statSync(path).size;
  if (size !== f.bytes)
    throw new EditError(
      'checksum-mismatch',
      `model file ${f.path} has ${size} bytes, the manifest says ${f.bytes}`,
    );
  const sha = await sha256File(path);
  if (sha !== f.sha256)
    throw new EditError(
      'checksum-mismatch',
      `model file ${f.path} has sha256 ${sha.slice(0, 12)}…, the manifest says ${f.sha256.slice(0, 12)}…`,
    );
  return path;
}

async function download(url: string, to: string, f: ManifestFile): Promise<void> {
  if (existsSync(to) && statSync(to).size === f.bytes && (await sha256File(to)) === f.sha256) return;
  await downloadFile(url, to, f);
}

/** A package folder path from a `file:` URL, refusing ones that name another host. */
function fileUrlPath(source: string): string {
  try {
    return fileURLToPath(source);
  } catch (err) {
    throw new ReadError(`--model ${source} is not a usable file URL (${(err as Error).message})`);
  }
}

/** A local folder for the package: the folder itself, or a cache copy of a URL. */
async function localDir(source: string, dtype?: string, o: OpenPackageOptions = {}): Promise<string> {
  if (/^file:/i.test(source)) return fileUrlPath(source);
  if (!/^https?:\/\//i.test(source)) return resolve(source);
  const base = source.endsWith('/') ? source : `${source}/`;
  const dir = join(cacheRoot(o.cacheDir), base.replace(/[^a-zA-Z0-9._-]+/g, '_'));
  const manifestBytes = await fetchBounded(`${base}manifest.json`, MAX_MANIFEST_BYTES, 'manifest');
  const m = validateManifest(parseManifestJson(manifestBytes, `${base}manifest.json`));
  const { graphs, tokenizers, tokenTable } = packageFiles(m, chooseDtype(m, 'cpu', wantedDtype(dtype)));
  checkTokenizerSizes(m);
  const files = [...tokenizers, ...Object.values(graphs).flat(), ...(tokenTable ? [tokenTable] : [])];
  checkDownloadSpace(dir, files);
  const total = files.reduce((s, f) => s + f.bytes, 0);
  let loaded = 0;
  for (const f of files) {
    o.signal?.throwIfAborted();
    o.onProgress?.({ file: f.path, loaded, total });
    await download(new URL(f.path, base).href, join(dir, f.path), f);
    loaded += f.bytes;
  }
  o.onProgress?.({ loaded, total });
  // last, so a cached manifest always describes files that are all there
  writeFileAtomic(join(dir, 'manifest.json'), manifestBytes);
  return dir;
}

const wantedDtype = (dtype?: string) => (dtype ?? 'auto') as Dtype | 'auto';

const makeEncoder = (tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>) =>
  new HfTokenizer(tokenizerJson, tokenizerConfig);

/** Files of a package folder: verified by size and sha256, read from disk, handed to onnxruntime-node as paths. */
export function folderSource(dir: string): FileSource<string> {
  return {
    async prepare(files) {
      for (const f of files) await verify(dir, f);
    },
    async read(f, range) {
      if (!range) return readLocalFile(join(dir, f.path), Math.max(f.bytes, 0), 'model file');
      const out = new Uint8Array(range.end - range.start);
      const fd = openSync(join(dir, f.path), 'r');
      try {
        readSync(fd, out, 0, out.length, range.start);
      } finally {
        closeSync(fd);
      }
      return out;
    },
    // onnxruntime-node reads the graph and finds its external-data chunks beside it
    graphData: (f) => Promise.resolve(join(dir, f.path)),
  };
}

/**
 * The node graph runtime: sessions created from the graph files' paths (lazily, and at load for
 * the check); onnxruntime-node reads the files itself.
 */
export const nodeRuntime: GraphRuntime<string, OrtNodeRunner> = async (graphs, open) => {
  const files: Partial<Record<GraphName, string>> = {};
  for (const g of graphs) files[g] = (await open(g)).model; // paths: nothing is read here
  return new OrtNodeRunner({ files });
};

/** A tokenizer from a package folder (size-capped reads; the padding side is the tokenizer's own). */
export function loadTokenizer(dir: string, entry: TokenizerEntry): Promise<Tokenizer> {
  return packageTokenizer(
    entry,
    (p) => Promise.resolve(readLocalFile(join(dir, p), MAX_TOKENIZER_BYTES, 'tokenizer file')),
    makeEncoder,
  );
}

export interface OpenPackageOptions {
  /** download progress of a package given by URL */
  readonly onProgress?: (p: LoadProgress) => void;
  readonly signal?: AbortSignal;
  /** The cache folder for a package given by URL (default `$EDITMGT_CACHE`, else ~/.cache/editmgt-web). */
  readonly cacheDir?: string;
  /** Overrides the memory policy the package's size gives (see EngineOptions.memory). */
  readonly memory?: MemoryPolicy;
}

/** Opens a package folder or URL (see the module comment) on the CPU. */
export async function openPackage(
  source: string,
  dtype?: string,
  options: OpenPackageOptions = {},
): Promise<OpenPackage> {
  const dir = await localDir(source, dtype, options);
  const manifest = readManifest(dir);
  const opened = await openModelPackage({
    manifest,
    device: 'cpu',
    dtype: wantedDtype(dtype),
    files: folderSource(dir),
    runtime: nodeRuntime,
    makeEncoder,
    signal: options.signal,
    memory: options.memory,
  });
  return { ...opened, dir };
}
