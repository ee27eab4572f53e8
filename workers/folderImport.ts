/**
 * A package folder from disk, copied into the model store. The page hands over the folder's Files
 * (handles, not bytes); each one the manifest lists is streamed into OPFS by slices, its sha256
 * computed as it streams, and its size and hash checked against the manifest before it gets the
 * verified mark. The package's key (`local:///<name>/<manifest sha256>/`) then stands for its URL:
 * it opens through the same store source as a downloaded package, with nothing read from disk
 * again. The store's record of the folder (`local.json`) is written last, so a copy that failed or
 * was cancelled part way is removed and never listed.
 */
import { parseRawManifest } from '../src/engine/index';
import type { ManifestFile } from '../src/engine/index';
import { localPackageUrl, MAX_FOLDER_FILES } from '../src/protocol/localPackage';
import { createSha256, sha256Hex } from './blobReader';
import { checkStorage, LOCAL_ORIGIN, packageDir, removePackage, verifiedMark } from './modelStore';
import type { Progress } from './modelStore';
import { fileIfExists, removeEntry, renameFile, writeSmallFile } from './opfs';

/** A file of the folder, by its path inside the folder ("fp32/vq_encode.onnx"). */
export interface FolderFile {
  path: string;
  file: File;
}

/** The folder cannot be taken as a package: the message names the file and says what to do. */
export class FolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FolderError';
  }
}

/** Slices read from disk and written to the store at a time. */
const COPY_SLICE_BYTES = 8 << 20;

/** Subfolders and files of EditMGT's published checkpoint (not a converted package). */
const CHECKPOINT_MARKS =
  /^(editmgt|vqvae|text_encoder|transformer|tokenizer|scheduler)\/|(^|\/)(config|model_index)\.json$/;

function isCheckpoint(files: readonly FolderFile[]): boolean {
  return files.some((f) => CHECKPOINT_MARKS.test(f.path));
}

/** Reads the manifest with the engine's rules (size cap, JSON, schema), naming it by its folder. */
async function readManifest(name: string, files: readonly FolderFile[]) {
  const entry = files.find((f) => f.path === 'manifest.json');
  if (!entry) {
    if (isCheckpoint(files))
      throw new FolderError(
        `${name} is a checkpoint, not a converted package; converting it in the tab is not available yet: use \`npm run convert\` (docs/convert.md), then open the folder it writes.`,
      );
    throw new FolderError(
      `${name} has no manifest.json: it is not a model package. Choose the folder that holds a converted package's manifest.json.`,
    );
  }
  const bytes = new Uint8Array(await entry.file.arrayBuffer().catch(unreadable(`${name}/manifest.json`)));
  const { manifest, text } = await parseRawManifest({
    where: `${name}/manifest.json`,
    size: entry.file.size,
    body: bytes,
  });
  return { manifest, text, sha256: await sha256Hex(bytes) };
}

const unreadable = (where: string) => (err: unknown) => {
  throw new FolderError(
    `${where} could not be read (${(err as Error).message}); it may have changed or been moved while it was read. Choose the folder again.`,
  );
};

/** Every file the manifest lists, with its size checked before anything is copied. */
function matchFiles(name: string, listed: readonly ManifestFile[], files: readonly FolderFile[]) {
  const byPath = new Map(files.map((f) => [f.path, f.file]));
  return listed.map((m) => {
    const file = byPath.get(m.path);
    const where = `${name}/${m.path}`;
    if (!file)
      throw new FolderError(
        `${where} is missing: the package's manifest lists it. Copy the whole package folder again (or convert it again).`,
      );
    if (file.size === 0 && m.bytes > 0)
      throw new FolderError(
        `${where} is empty (0 bytes); the manifest says ${m.bytes} bytes. The copy was cut short: copy the package folder again.`,
      );
    if (file.size !== m.bytes)
      throw new FolderError(
        `${where} has ${file.size} bytes; the manifest says ${m.bytes}. The file is damaged or from another package: copy the package folder again.`,
      );
    return { listed: m, file, where };
  });
}

function isQuotaError(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'QuotaExceededError';
}

/** Streams one file into `<sha256>.part`, hashing it, and keeps it as `<sha256>` with its mark. */
async function copyFile(
  dir: FileSystemDirectoryHandle,
  { listed, file, where }: { listed: ManifestFile; file: File; where: string },
  onBytes: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  if (
    (await fileIfExists(dir, verifiedMark(listed.sha256))) &&
    (await fileIfExists(dir, listed.sha256))?.size === listed.bytes
  ) {
    onBytes(listed.bytes); // the same bytes are stored already (another package shares them)
    return;
  }
  const partName = `${listed.sha256}.part`;
  const handle = await dir.getFileHandle(partName, { create: true });
  const writer = await handle.createSyncAccessHandle();
  const hash = await createSha256();
  try {
    writer.truncate(0);
    for (let at = 0; at < listed.bytes; at += COPY_SLICE_BYTES) {
      signal?.throwIfAborted();
      const end = Math.min(listed.bytes, at + COPY_SLICE_BYTES);
      const bytes = new Uint8Array(await file.slice(at, end).arrayBuffer().catch(unreadable(where)));
      if (bytes.byteLength !== end - at)
        unreadable(where)(new Error('it is shorter than when it was chosen'));
      hash.update(bytes);
      writer.write(bytes, { at });
      onBytes(end);
    }
    writer.flush();
  } finally {
    writer.close();
  }
  const actual = hash.hex();
  if (actual !== listed.sha256) {
    await removeEntry(dir, partName);
    throw new FolderError(
      `${where} does not match the package's manifest: its sha256 is ${actual.slice(0, 12)}…, the manifest says ${listed.sha256.slice(0, 12)}…. The file is damaged or from another package: copy the package folder again.`,
    );
  }
  await removeEntry(dir, listed.sha256);
  if (!(await renameFile(handle, listed.sha256)))
    throw new FolderError(`${where} could not be stored (this browser cannot rename files in its storage).`);
  await writeSmallFile(dir, verifiedMark(listed.sha256), new Uint8Array(0));
}

/**
 * Copies the package in `files` (the folder `name`) into the model store and returns its key and
 * stored bytes (the manifest's files, summed).
 * Refused before any file is read: more files than a package can have, no manifest (a checkpoint
 * folder is named as one), a listed file missing or of the wrong size, too little storage.
 */
export async function importFolder(
  name: string,
  files: readonly FolderFile[],
  onProgress: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<{ baseUrl: string; name: string; bytes: number }> {
  if (files.length > MAX_FOLDER_FILES)
    throw new FolderError(
      `${name} holds ${files.length} files; a model package has at most ${MAX_FOLDER_FILES}. Choose the package's own folder (the one that holds manifest.json).`,
    );
  const { manifest, text, sha256 } = await readManifest(name, files);
  const baseUrl = localPackageUrl(name, sha256);
  const dir = await packageDir(baseUrl);
  if (!dir)
    throw new FolderError(
      'This browser gives the app no storage here (a private window?): a folder cannot be opened in it.',
    );
  const listedBefore = (await fileIfExists(dir, LOCAL_ORIGIN)) !== null;
  const totalBytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
  let copying = `${name}/manifest.json`;
  try {
    // the storage preflight, by the manifest's sizes, before any file is looked at or copied
    await checkStorage(dir, manifest.files);
    const copies = matchFiles(name, manifest.files, files);
    let done = 0;
    for (const copy of copies) {
      copying = copy.where;
      const onBytes = (loaded: number) =>
        onProgress({
          file: copy.listed.path,
          loaded,
          total: copy.listed.bytes,
          totalLoaded: done + loaded,
          totalBytes,
        });
      await copyFile(dir, copy, onBytes, signal);
      done += copy.listed.bytes;
    }
    copying = `${name}/manifest.json`;
    await writeSmallFile(dir, 'manifest.json', new TextEncoder().encode(text));
    await writeSmallFile(dir, LOCAL_ORIGIN, new TextEncoder().encode(JSON.stringify({ url: baseUrl, name })));
  } catch (err) {
    // nothing half-copied stays (a package imported before under this key keeps its files)
    if (!listedBefore) await removePackage(baseUrl);
    if (isQuotaError(err))
      throw new FolderError(
        `The browser's storage filled up while ${copying} was copied. Free disk space or clear the model cache, then open the folder again.`,
      );
    throw err;
  }
  return { baseUrl, name, bytes: totalBytes };
}
