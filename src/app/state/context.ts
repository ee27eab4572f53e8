/** React access to the app's store: one store per app, passed down by context. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { Actions, AppState, AppStore } from './store';

export const StoreContext = createContext<AppStore | null>(null);

function useAppStore(): AppStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('the app store is missing: render inside <StoreContext value={store}>');
  return store;
}

/** Subscribes to one slice of the state (return a stable value: a field, not a new object). */
export function useApp<T>(selector: (s: AppState) => T): T {
  return useStore(useAppStore(), selector);
}

export function useActions(): Actions {
  return useStore(useAppStore(), (s) => s.actions);
}
