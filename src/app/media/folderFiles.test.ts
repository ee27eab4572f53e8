import { describe, expect, it } from 'vitest';
import { MAX_FOLDER_FILES } from '../../protocol/localPackage';
import { folderFromInput } from './folderFiles';

/** A File as a webkitdirectory input gives it: named by its path from the chosen folder. */
function picked(relativePath: string, body = 'x'): File {
  const file = new File([body], relativePath.split('/').at(-1)!);
  Object.defineProperty(file, 'webkitRelativePath', { value: relativePath });
  return file;
}

describe('folderFromInput', () => {
  it('names the folder and each file by its path inside it', () => {
    const folder = folderFromInput([picked('pkg/manifest.json'), picked('pkg/fp32/vq_encode.onnx')]);
    expect(folder?.name).toBe('pkg');
    expect(folder?.files.map((f) => f.path)).toEqual(['manifest.json', 'fp32/vq_encode.onnx']);
    expect(folder?.overLimit).toBe(false);
  });

  it('leaves out hidden files and folders (.git, .DS_Store)', () => {
    const folder = folderFromInput([
      picked('pkg/manifest.json'),
      picked('pkg/.DS_Store'),
      picked('pkg/.git/objects/ab/cdef'),
    ]);
    expect(folder?.files.map((f) => f.path)).toEqual(['manifest.json']);
  });

  it('marks a folder with more files than a package can have', () => {
    const many = Array.from({ length: MAX_FOLDER_FILES + 1 }, (_, i) => picked(`pkg/f${i}`));
    expect(folderFromInput(many)?.overLimit).toBe(true);
    expect(folderFromInput(many.slice(1))?.overLimit).toBe(false);
  });

  it('is nothing for an empty choice', () => {
    expect(folderFromInput([])).toBeNull();
  });
});
