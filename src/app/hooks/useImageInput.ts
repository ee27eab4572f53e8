import { useEffect, useState } from 'react';
import { folderFromDrop } from '../media/folderFiles';
import type { Actions } from '../state/store';

function filesOf(data: DataTransfer | null): File[] {
  if (!data) return [];
  const files: File[] = [];
  for (let i = 0; i < data.files.length; i++) files.push(data.files[i]);
  if (files.length === 0) {
    for (let i = 0; i < data.items.length; i++) {
      const f = data.items[i].kind === 'file' ? data.items[i].getAsFile() : null;
      if (f) files.push(f);
    }
  }
  return files;
}

/** Drag-and-drop anywhere on the page and paste from the clipboard; returns whether a drag is over the page. */
export function useImageInput(actions: Actions): boolean {
  const [dragging, setDragging] = useState(false);
  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
    const onEnter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth += 1;
      setDragging(true);
    };
    const onLeave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const onOver = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const onDrop = (e: DragEvent) => {
      depth = 0;
      setDragging(false);
      // a folder dropped is a model package to open, not images
      const folder = folderFromDrop(e.dataTransfer);
      if (folder) {
        e.preventDefault();
        void folder.then(actions.openFolder, (err: unknown) =>
          actions.openFolder({
            name: 'The dropped folder',
            files: [],
            overLimit: false,
            problem: `could not be read (${(err as Error).message}); choose it with “Open folder…” under Model instead.`,
          }),
        );
        return;
      }
      const files = filesOf(e.dataTransfer);
      if (files.length === 0) return;
      e.preventDefault();
      void actions.openFiles(files);
    };
    const onPaste = (e: ClipboardEvent) => {
      const files = filesOf(e.clipboardData);
      if (files.length === 0) return; // plain text pastes into the focused field as usual
      e.preventDefault();
      void actions.openFiles(files);
    };
    window.addEventListener('dragenter', onEnter);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('dragover', onOver);
    window.addEventListener('drop', onDrop);
    window.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('drop', onDrop);
      window.removeEventListener('paste', onPaste);
    };
  }, [actions]);
  return dragging;
}
