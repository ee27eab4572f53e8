/**
 * Opens a model package from a folder or an http(s) URL (downloaded once into a cache folder:
 * the `cacheDir` option, `$EDITMGT_CACHE` or ~/.cache/editmgt-web) on onnxruntime-node: the node
 * adapters (the package source of a folder or a URL, the node graph runtime) of the engine's one
 * package opener (`Editor.open`). Tokenizer files always come from the package, never a remote hub.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../../errors';
import { MAX_MANIFEST_BYTES } from '../../manifest';
import type { Dtype, ManifestFile, RawManifest, TokenizerEntry } from '../../manifest';
import { packageTokenizer } from '../../package';
import type { FileSource, GraphRuntime, OpenOptions } from '../../package';
import type { GraphName, Tokenizer } from '../../ports';
import { cacheRoot, checkDownloadSpace, downloadFile, fetchManifestRaw } from './download';
import { MAX_TOKENIZER_BYTES, readLocalFile, writeFileAtomic, ReadError } from './localFiles';
import { OrtNodeRunner } from './ortNodeRunner';

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

/** A folder's manifest.json: stat'ed first, so a file over the cap (or not a file) is never read. */
export function folderManifest(dir: string): RawManifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new EditError('bad-manifest', `no manifest.json in ${dir}`);
  const st = statSync(path);
  if (!st.isFile()) throw new ReadError(`the manifest ${path} is not a regular file`);
  return { where: path, size: st.size, body: st.size > MAX_MANIFEST_BYTES ? null : readFileSync(path) };
}

/**
 * The package at `source` (a folder, a `file:` URL, or an http(s) URL) as the opener's file
 * source. A URL's files are downloaded into the cache folder by `prepare` (each checked as it
 * arrives, a file already there by its sha256); its manifest is written there last, so a cached
 * manifest always describes files that are all there.
 */
export function packageSource(
  source: string,
  cacheDir?: string,
): FileSource<string> & { readonly dir: string } {
  if (/^file:/i.test(source)) return folderSource(fileUrlPath(source));
  if (!/^https?:\/\//i.test(source)) return folderSource(resolve(source));
  const base = source.endsWith('/') ? source : `${source}/`;
  const dir = join(cacheRoot(cacheDir), base.replace(/[^a-zA-Z0-9._-]+/g, '_'));
  const folder = folderSource(dir);
  let manifestText: string | undefined;
  return {
    ...folder,
    manifest: () => fetchManifestRaw(`${base}manifest.json`),
    keepManifest: (text) => Promise.resolve(void (manifestText = text)),
    async prepare(files, signal, onProgress) {
      checkDownloadSpace(dir, files);
      const total = files.reduce((s, f) => s + f.bytes, 0);
      let loaded = 0;
      for (const f of files) {
        signal?.throwIfAborted();
        onProgress?.({ file: f.path, loaded, total });
        await download(new URL(f.path, base).href, join(dir, f.path), f);
        loaded += f.bytes;
      }
      onProgress?.({ loaded, total });
      if (manifestText !== undefined)
        writeFileAtomic(join(dir, 'manifest.json'), new TextEncoder().encode(manifestText));
    },
  };
}

const wantedDtype = (dtype?: string) => (dtype ?? 'auto') as Dtype | 'auto';

const makeEncoder = (tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>) =>
  new HfTokenizer(tokenizerJson, tokenizerConfig);

/** Files of a package folder: verified by size and sha256, read from disk, handed to onnxruntime-node as paths. */
export function folderSource(dir: string): FileSource<string> & { readonly dir: string } {
  return {
    dir,
    manifest: () => Promise.resolve(folderManifest(dir)),
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

/** What a node host chooses when it opens a package (`cpuOptions`); the rest is fixed by onnxruntime-node. */
export type CpuOpenOptions = Pick<
  OpenOptions<string, OrtNodeRunner>,
  'onProgress' | 'signal' | 'memory' | 'now' | 'wrapRunner' | 'beforeSessions'
>;

/**
 * The options of `Editor.open` on onnxruntime-node: the CPU, the node graph runtime and tokenizer,
 * the wanted dtype (default: the CPU's preference among those the package has) and the host's own.
 * @example
 * const editor = await Editor.open(packageSource(dirOrUrl), cpuOptions('q4', { memory: 'phased' }));
 */
export function cpuOptions(dtype?: string, options: CpuOpenOptions = {}): OpenOptions<string, OrtNodeRunner> {
  return { ...options, device: 'cpu', dtype: wantedDtype(dtype), runtime: nodeRuntime, makeEncoder };
}
