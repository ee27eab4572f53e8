/**
 * Opens a model package from a folder or an http(s) URL (downloaded once into a cache folder),
 * validates its manifest, checks every file's sha256, and builds the node GraphRunner and the
 * tokenizers. Tokenizer files always come from the package, never a remote hub.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../src/engine/errors';
import { hfTokenizer } from '../src/engine/hfTokenizer';
import { GRAPH_NAMES, packageFiles, pickDtype, specFromManifest, validateManifest } from '../src/engine/manifest';
import type { Dtype, Manifest, ManifestFile, TokenizerEntry } from '../src/engine/manifest';
import type { ModelSpec } from '../src/engine/modelSpec';
import type { GraphName, Tokenizer } from '../src/engine/ports';
import { downloadFile, fetchBounded } from './download';
import { checkDeclaredSize, MAX_MANIFEST_BYTES, MAX_TOKENIZER_BYTES, parseManifestJson, readLocalFile, ReadError, writeFileAtomic } from './localFiles';
import { OrtNodeRunner } from './ortNodeRunner';

export interface OpenPackage {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly spec: ModelSpec;
  readonly dtype: Dtype;
  readonly runner: OrtNodeRunner;
  readonly tokenizers: { clip: Tokenizer; llm: Tokenizer };
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
async function localDir(source: string, dtype?: string): Promise<string> {
  if (/^file:/i.test(source)) return fileUrlPath(source);
  if (!/^https?:\/\//i.test(source)) return resolve(source);
  const base = source.endsWith('/') ? source : `${source}/`;
  const dir = join(process.env['EDITMGT_CACHE'] ?? join(homedir(), '.cache', 'editmgt-web'), base.replace(/[^a-zA-Z0-9._-]+/g, '_'));
  const manifestBytes = await fetchBounded(`${base}manifest.json`, MAX_MANIFEST_BYTES, 'manifest');
  const m = validateManifest(parseManifestJson(manifestBytes, `${base}manifest.json`));
  const { graphs, tokenizers } = packageFiles(m, pickDtype(m, dtype));
  for (const f of tokenizers) checkDeclaredSize(f, MAX_TOKENIZER_BYTES);
  for (const f of [...tokenizers, ...Object.values(graphs).flat()]) await download(new URL(f.path, base).href, join(dir, f.path), f);
  // last, so a cached manifest always describes files that are all there
  writeFileAtomic(join(dir, 'manifest.json'), manifestBytes);
  return dir;
}

export function loadTokenizer(dir: string, entry: TokenizerEntry): Tokenizer {
  const find = (name: string) => entry.files.find((p) => p.endsWith(`/${name}`) || p === name);
  const tj = find('tokenizer.json')!;
  const tc = find('tokenizer_config.json');
  const read = (p: string) => JSON.parse(readLocalFile(join(dir, p), MAX_TOKENIZER_BYTES, 'tokenizer file').toString('utf8')) as Record<string, unknown>;
  try {
    const tokenizerJson = read(tj);
    const tokenizerConfig = tc ? read(tc) : {};
    // The padding side comes from the tokenizer's own files (tokenizerPaddingSide), never the manifest.
    return hfTokenizer(new HfTokenizer(tokenizerJson, tokenizerConfig), { tokenizerJson, tokenizerConfig }, { padId: entry.pad_id });
  } catch (err) {
    if (err instanceof ReadError) throw err;
    throw new EditError('bad-manifest', `the tokenizer ${tj} cannot be loaded (${(err as Error).message.split('\n')[0]})`);
  }
}

export async function openPackage(source: string, dtype?: string): Promise<OpenPackage> {
  const dir = await localDir(source, dtype);
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new EditError('bad-manifest', `no manifest.json in ${dir}`);
  const json = parseManifestJson(readLocalFile(manifestPath, MAX_MANIFEST_BYTES, 'manifest'), manifestPath);
  const manifest = validateManifest(json, loadSchema());
  const d = pickDtype(manifest, dtype);
  const { graphs, tokenizers } = packageFiles(manifest, d);
  const files: Partial<Record<GraphName, string>> = {};
  for (const g of GRAPH_NAMES) {
    const [main, ...external] = graphs[g];
    files[g] = await verify(dir, main!);
    for (const e of external) await verify(dir, e);
  }
  for (const f of tokenizers) {
    checkDeclaredSize(f, MAX_TOKENIZER_BYTES);
    await verify(dir, f);
  }
  return {
    dir,
    manifest,
    spec: specFromManifest(manifest),
    dtype: d,
    runner: new OrtNodeRunner({ files }),
    tokenizers: { clip: loadTokenizer(dir, manifest.tokenizers.clip), llm: loadTokenizer(dir, manifest.tokenizers.llm) },
  };
}

/** The exporter's manifest schema (the contract), when it is in the tree. */
export function loadSchema(): unknown {
  const path = fileURLToPath(new URL('../src/engine/manifest.schema.json', import.meta.url));
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as unknown) : undefined;
}
