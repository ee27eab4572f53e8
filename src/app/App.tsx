import { useEffect, useState } from 'react';
import type { BackendInfo } from '../protocol/messages';
import type { EngineClient } from './engineClient';

export function App({ client }: { client: EngineClient }) {
  const [backend, setBackend] = useState<BackendInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    client
      .request({ type: 'init', backend: 'auto' })
      .then((r) => {
        if (!live) return;
        if (r.type === 'backend') setBackend(r.info);
        else if (r.type === 'error') setError(r.message);
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [client]);

  useEffect(() => {
    document.body.dataset.editState = error ? 'error' : backend ? 'ready' : 'loading-model';
  }, [backend, error]);

  return (
    <main className="app">
      <header className="topbar">
        <h1>EditMGT</h1>
        <span className="badge" data-testid="backend-badge">
          {backend ? (backend.backend === 'webgpu' ? `WebGPU · ${backend.adapter}` : `WASM · ${backend.threads} threads`) : 'starting…'}
        </span>
      </header>
      {error && (
        <p role="alert" data-testid="error">
          {error}
        </p>
      )}
    </main>
  );
}
