/**
 * Opens a model package from a folder or an http(s) URL (downloaded once into a cache folder),
 * validates its manifest, checks every file's sha256, and builds the node GraphRunner and the
 * tokenizers. Tokenizer files always come from the package, never a remote hub.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../src/engine/errors';
import { hfTokenizer } from '../src/engine/hfTokenizer';
import { GRAPH_NAMES, packageFiles, pickDtype, specFromManifest, validateManifest } from '../src/engine/manifest';
import type { Dtype, Manifest, ManifestFile, TokenizerEntry } from '../src/engine/manifest';
import type { ModelSpec } from '../src/engine/modelSpec';
import type { GraphName, Tokenizer } from '../src/engine/ports';
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
  const m = validateManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  const { graphs, tokenizers } = packageFiles(m, pickDtype(m, dtype));
  for (const f of [...tokenizers, ...Object.values(graphs).flat()]) await download(new URL(f.path, base).href, join(dir, f.path), f);
  return dir;
}

export function loadTokenizer(dir: string, entry: TokenizerEntry): Tokenizer {
  const find = (name: string) => entry.files.find((p) => p.endsWith(`/${name}`) || p === name);
  const tj = find('tokenizer.json')!;
  const tc = find('tokenizer_config.json');
  const tokenizerJson = JSON.parse(readFileSync(join(dir, tj), 'utf8')) as Record<string, unknown>;
  const tokenizerConfig = tc ? (JSON.parse(readFileSync(join(dir, tc), 'utf8')) as Record<string, unknown>) : {};
  return hfTokenizer(new HfTokenizer(tokenizerJson, tokenizerConfig), { tokenizerJson, tokenizerConfig }, { padId: entry.pad_id, paddingSide: entry.padding_side });
}

export async function openPackage(source: string, dtype?: string): Promise<OpenPackage> {
  const dir = await localDir(source, dtype);
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new EditError('bad-manifest', `no manifest.json in ${dir}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw new EditError('bad-manifest', `manifest.json is not JSON (${(err as Error).message})`);
  }
  const manifest = validateManifest(json);
  const d = pickDtype(manifest, dtype);
  const { graphs, tokenizers } = packageFiles(manifest, d);
  const files: Partial<Record<GraphName, string>> = {};
  for (const g of GRAPH_NAMES) {
    const [main, ...external] = graphs[g];
    files[g] = await verify(dir, main!);
    for (const e of external) await verify(dir, e);
  }
  for (const f of tokenizers) await verify(dir, f);
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
