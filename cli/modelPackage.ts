/**
 * Opens a model package from a folder or an http(s) URL (downloaded once into a cache folder) on
 * onnxruntime-node: the node adapters (a folder file source, the node graph runtime) of the
 * engine's one package opener (src/engine/package.ts). Tokenizer files always come from the
 * package, never a remote hub.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../src/engine/errors';
import { packageFiles } from '../src/engine/manifest';
import type { Dtype, ManifestFile, TokenizerEntry } from '../src/engine/manifest';
import { chooseDtype, openModelPackage, packageTokenizer } from '../src/engine/package';
import type { FileSource, GraphRuntime, OpenedPackage } from '../src/engine/package';
import type { Tokenizer } from '../src/engine/ports';
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
  if (size !== f.bytes) throw new EditError('checksum-mismatch', `model file ${f.path} has ${size} bytes, the manifest says ${f.bytes}`);
  const sha = await sha256File(path);
  if (sha !== f.sha256) throw new EditError('checksum-mismatch', `model file ${f.path} has sha256 ${sha.slice(0, 12)}…, the manifest says ${f.sha256.slice(0, 12)}…`);
  return path;
}

async function download(url: string, to: string, f?: ManifestFile): Promise<void> {
  if (f && existsSync(to) && statSync(to).size === f.bytes && (await sha256File(to)) === f.sha256) return;
  const res = await fetch(url);
  if (!res.ok) throw new EditError('bad-manifest', `cannot download ${url}: HTTP ${res.status}`);
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, new Uint8Array(await res.arrayBuffer()));
}

/** A local folder for the package: the folder itself, or a cache copy of a URL. */
async function localDir(source: string, dtype?: string): Promise<string> {
  if (!/^https?:\/\//.test(source)) return resolve(source);
  const base = source.endsWith('/') ? source : `${source}/`;
  const dir = join(process.env['EDITMGT_CACHE'] ?? join(homedir(), '.cache', 'editmgt-web'), base.replace(/[^a-zA-Z0-9._-]+/g, '_'));
  await download(`${base}manifest.json`, join(dir, 'manifest.json'));
  const m = readManifest(dir);
  const { graphs, tokenizers } = packageFiles(m, chooseDtype(m, 'cpu', wantedDtype(dtype)));
  for (const f of [...tokenizers, ...Object.values(graphs).flat()]) await download(new URL(f.path, base).href, join(dir, f.path), f);
  return dir;
}

const wantedDtype = (dtype?: string) => (dtype ?? 'auto') as Dtype | 'auto';

const makeEncoder = (tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>) => new HfTokenizer(tokenizerJson, tokenizerConfig);

/** Files of a package folder: verified by size and sha256, read from disk, handed to onnxruntime-node as paths. */
export function folderSource(dir: string): FileSource<string> {
  return {
    async prepare(files) {
      for (const f of files) await verify(dir, f);
    },
    async read(f, range) {
      if (!range) return readFileSync(join(dir, f.path));
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

/** The node graph runtime: sessions created from the graph files (lazily, and at load for the check). */
export const nodeRuntime: GraphRuntime<string, OrtNodeRunner> = (graphs) =>
  Promise.resolve(new OrtNodeRunner({ files: Object.fromEntries(graphs.map((g) => [g.graph, g.model])) }));

/** A tokenizer from a package folder, padded as the manifest's entry says. */
export function loadTokenizer(dir: string, entry: TokenizerEntry): Promise<Tokenizer> {
  return packageTokenizer(entry, (p) => Promise.resolve(readFileSync(join(dir, p))), makeEncoder);
}

/** Opens a package folder or URL (see the module comment) on the CPU. */
export async function openPackage(source: string, dtype?: string): Promise<OpenPackage> {
  const dir = await localDir(source, dtype);
  const manifest = readManifest(dir);
  const opened = await openModelPackage({ manifest, device: 'cpu', dtype: wantedDtype(dtype), files: folderSource(dir), runtime: nodeRuntime, makeEncoder });
  return { ...opened, dir };
}
