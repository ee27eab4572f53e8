/** React access to the editor store: one store per app, passed down by context. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { Actions, EditorState, EditorStore } from './store';

export const StoreContext = createContext<EditorStore | null>(null);

function useEditorStore(): EditorStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('the editor store is missing: render inside <StoreContext value={store}>');
  return store;
}

/** Subscribes to one slice of the state (return a stable value: a field, not a new object). */
export function useEditor<T>(selector: (s: EditorState) => T): T {
  return useStore(useEditorStore(), selector);
}

export function useActions(): Actions {
  return useStore(useEditorStore(), (s) => s.actions);
}
