/**
 * A folder the person chose or dropped, as its files by their path inside it. Only names are
 * listed here; no file is read (the worker streams them into the model store). Hidden entries
 * (".git", ".DS_Store") are not part of a package and are left out. Listing stops past
 * MAX_FOLDER_FILES, so a huge folder is refused without walking all of it.
 */
import { MAX_FOLDER_FILES } from '../../protocol/localPackage';

export interface FolderFile {
  path: string;
  file: File;
}

export interface PickedFolder {
  name: string;
  files: FolderFile[];
  /** More files than MAX_FOLDER_FILES were there (listing stopped). */
  overLimit: boolean;
  /** Why the folder could not be listed (then `files` is empty). */
  problem?: string;
}

const hidden = (path: string) => path.split('/').some((part) => part.startsWith('.'));

/** The files of an `<input type="file" webkitdirectory>` (each named "folder/sub/file"). */
export function folderFromInput(list: FileList | readonly File[]): PickedFolder | null {
  const all = Array.from(list);
  if (all.length === 0) return null;
  const name = (all[0].webkitRelativePath || all[0].name).split('/')[0];
  const files: FolderFile[] = [];
  for (const file of all) {
    const path = (file.webkitRelativePath || file.name).split('/').slice(1).join('/') || file.name;
    if (!hidden(path)) files.push({ path, file });
  }
  return { name, files, overLimit: files.length > MAX_FOLDER_FILES };
}

type Walk = { files: FolderFile[]; overLimit: boolean };

type DirectoryHandle = FileSystemDirectoryHandle & {
  values(): AsyncIterable<FileSystemDirectoryHandle | FileSystemFileHandle>;
};

/** A folder by its File System Access handle (a drop where the browser offers one). */
export async function folderFromHandle(dir: FileSystemDirectoryHandle): Promise<PickedFolder> {
  const out: Walk = { files: [], overLimit: false };
  const walk = async (d: FileSystemDirectoryHandle, prefix: string): Promise<void> => {
    for await (const entry of (d as DirectoryHandle).values()) {
      if (out.overLimit) return;
      if (entry.name.startsWith('.')) continue;
      const path = `${prefix}${entry.name}`;
      if (entry.kind === 'directory') await walk(entry as FileSystemDirectoryHandle, `${path}/`);
      else if (
        out.files.push({ path, file: await (entry as FileSystemFileHandle).getFile() }) > MAX_FOLDER_FILES
      )
        out.overLimit = true;
    }
  };
  await walk(dir, '');
  return { name: dir.name, ...out };
}

/** A folder by its entry (a drop in a browser without `getAsFileSystemHandle`). */
export async function folderFromEntry(dir: FileSystemDirectoryEntry): Promise<PickedFolder> {
  const out: Walk = { files: [], overLimit: false };
  const entriesOf = async (d: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> => {
    const reader = d.createReader();
    const all: FileSystemEntry[] = [];
    // readEntries answers in batches until it answers an empty one
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
        reader.readEntries(resolve, reject),
      );
      if (batch.length === 0) return all;
      all.push(...batch);
      if (all.length > MAX_FOLDER_FILES) return all;
    }
  };
  const walk = async (d: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    for (const entry of await entriesOf(d)) {
      if (out.overLimit) return;
      if (entry.name.startsWith('.')) continue;
      const path = `${prefix}${entry.name}`;
      if (entry.isDirectory) await walk(entry as FileSystemDirectoryEntry, `${path}/`);
      else {
        const file = await new Promise<File>((resolve, reject) =>
          (entry as FileSystemFileEntry).file(resolve, reject),
        );
        if (out.files.push({ path, file }) > MAX_FOLDER_FILES) out.overLimit = true;
      }
    }
  };
  await walk(dir, '');
  return { name: dir.name, ...out };
}

type DropItem = DataTransferItem & { getAsFileSystemHandle?: () => Promise<FileSystemHandle | null> };

/**
 * The folder dropped, if a folder was (the first one; images are handled elsewhere). Must be called
 * during the drop event: the browser hands out its items only then.
 */
export function folderFromDrop(data: DataTransfer | null): Promise<PickedFolder> | null {
  if (!data) return null;
  for (let i = 0; i < data.items.length; i++) {
    const item = data.items[i] as DropItem;
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (!entry?.isDirectory) continue;
    if (typeof item.getAsFileSystemHandle === 'function') {
      const handle = item.getAsFileSystemHandle();
      return handle.then((h) =>
        h?.kind === 'directory'
          ? folderFromHandle(h as FileSystemDirectoryHandle)
          : folderFromEntry(entry as FileSystemDirectoryEntry),
      );
    }
    return folderFromEntry(entry as FileSystemDirectoryEntry);
  }
  return null;
}
