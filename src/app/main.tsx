import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { ErrorBoundary } from './components/ErrorBoundary';
import { EngineClient } from '../protocol/engineClient';
import { DEFAULT_MODEL_URL } from './modelConfig';
import { AppDb } from './persist/db';
import { StoreContext } from './state/context';
import { createAppStore } from './state/store';
import { testApiWanted } from './testApiFlag';
import './styles.css';

const client = new EngineClient();
const db = new AppDb();
const linkedModelUrl = new URLSearchParams(location.search).get('model');
const store = createAppStore({ client, db, defaultModelUrl: DEFAULT_MODEL_URL, linkedModelUrl });

// End-to-end tests and diagnostics only; loaded on demand, so the app's own bundle does not carry it.
if (testApiWanted(location.search, window.__EDITMGT_TEST__)) {
  void Promise.all([import('./testApi'), import('./testSnapshot')]).then(
    ([{ createTestApi }, { snapshotOf, stateTextOf }]) => {
      window.__editmgt = createTestApi(client, {
        snapshot: () => snapshotOf(store.getState()),
        stateText: () => stateTextOf(store.getState()),
        flush: () => db.flush(),
      });
    },
  );
}

// The built app keeps its shell for offline use (src/shell/serviceWorker.ts); the dev server does not.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker
    .register(`${import.meta.env.BASE_URL}sw.js`, { updateViaCache: 'none' })
    .catch((e: unknown) => console.warn('the app will not open offline:', e));
}

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <ErrorBoundary>
      <StoreContext value={store}>
        <App />
      </StoreContext>
    </ErrorBoundary>
  </StrictMode>,
);
