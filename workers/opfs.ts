/** Small helpers over the Origin Private File System (worker side: sync access handles). */

export async function fileIfExists(dir: FileSystemDirectoryHandle, name: string): Promise<File | null> {
  try {
    return await (await dir.getFileHandle(name)).getFile();
  } catch {
    return null;
  }
}

export async function removeEntry(dir: FileSystemDirectoryHandle, name: string): Promise<void> {
  await dir.removeEntry(name).catch(() => undefined);
}

/** Writes a small file whole (manifests, marks, hash states). */
export async function writeSmallFile(
  dir: FileSystemDirectoryHandle,
  name: string,
  bytes: Uint8Array,
): Promise<void> {
  const handle = await dir.getFileHandle(name, { create: true });
  const w = await handle.createSyncAccessHandle();
  try {
    w.truncate(0);
    w.write(bytes, { at: 0 });
    w.flush();
  } finally {
    w.close();
  }
}

/** Renames a file in its folder; false where the browser cannot (the caller copies instead). */
export async function renameFile(handle: FileSystemFileHandle, name: string): Promise<boolean> {
  const move = (handle as FileSystemFileHandle & { move?: (name: string) => Promise<void> }).move;
  if (!move) return false;
  try {
    await move.call(handle, name);
    return true;
  } catch {
    return false;
  }
}

/** Reads `length` bytes at `at` from a sync access handle, a slice at a time. */
export function readSync(handle: FileSystemSyncAccessHandle, into: Uint8Array, sliceBytes: number): void {
  for (let at = 0; at < into.byteLength; at += sliceBytes) {
    const part = into.subarray(at, Math.min(into.byteLength, at + sliceBytes));
    const n = handle.read(part, { at });
    if (n !== part.byteLength)
      throw new Error(`a partial download could not be read back (${at + n} of ${into.byteLength} bytes)`);
  }
}
