import { useEffect } from 'react';
import type { Actions } from '../state/store';

const isTextField = (t: EventTarget | null) =>
  t instanceof HTMLElement &&
  (t.isContentEditable ||
    t.tagName === 'TEXTAREA' ||
    (t.tagName === 'INPUT' &&
      !['checkbox', 'radio', 'range', 'button', 'file'].includes((t as HTMLInputElement).type)));

/**
 * Ctrl/Cmd+Enter runs, Esc cancels, Ctrl/Cmd+Z undoes, Ctrl/Cmd+Y or Ctrl/Cmd+Shift+Z redoes.
 * In text fields, undo/redo stay the field's own.
 */
export function useShortcuts(actions: Actions): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === 'enter') {
        e.preventDefault();
        void actions.run();
      } else if (key === 'escape') {
        actions.cancel();
      } else if (mod && !isTextField(e.target) && ((key === 'z' && e.shiftKey) || key === 'y')) {
        e.preventDefault();
        actions.redo();
      } else if (mod && !isTextField(e.target) && key === 'z') {
        e.preventDefault();
        actions.undo();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [actions]);
}
