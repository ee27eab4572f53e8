import { useState } from 'react';
import { isLocalPackageUrl, localPackageName } from '../../protocol/localPackage';
import { modelFieldText } from '../lib/modelUrl';
import { formatBytes } from '../lib/progress';
import { BUNDLED_MODELS, bundledModelUrl } from '../modelConfig';
import { useActions, useApp } from '../state/context';
import { OpenFolder } from './OpenFolder';

const CUSTOM = '__custom__';

/** Which model: a bundled one or a hosted package URL; download progress; the browser cache. */
export function ModelPanel() {
  const modelUrl = useApp((s) => s.settings.modelUrl);
  const load = useApp((s) => s.load);
  const cache = useApp((s) => s.cache);
  const status = useApp((s) => s.modelStatus);
  const { chooseModel, loadModel, cancelLoad, clearCache } = useActions();
  const bundled =
    BUNDLED_MODELS.find((m) => bundledModelUrl(m) === modelUrl) ??
    (isLocalPackageUrl(modelUrl) ? modelUrl : undefined);
  // packages opened from folders, kept in the model store (the one in use listed even before the store says)
  const folders = (cache?.packages ?? []).flatMap((p) => (p.name ? [{ url: p.baseUrl, name: p.name }] : []));
  if (isLocalPackageUrl(modelUrl) && !folders.some((f) => f.url === modelUrl))
    folders.push({ url: modelUrl, name: localPackageName(modelUrl) ?? modelUrl });
  // a hub package shows as the hf: text it was opened by, pinned to its commit
  const shown = modelFieldText(modelUrl, location.href);
  const [choice, setChoice] = useState(bundled ?? CUSTOM);
  const [url, setUrl] = useState(bundled ? '' : shown);
  // Follow the model in use when it changes from elsewhere (saved settings, a link).
  const [shownFor, setShownFor] = useState(modelUrl);
  if (shownFor !== modelUrl) {
    setShownFor(modelUrl);
    setChoice(bundled ?? CUSTOM);
    if (!bundled) setUrl(shown);
  }
  const typed = choice === CUSTOM ? url : isLocalPackageUrl(choice) ? choice : bundledModelUrl(choice);
  const target = typed === shown ? modelUrl : typed;
  return (
    <section className="panel model" aria-labelledby="model-title">
      <h2 id="model-title">Model</h2>
      <div className="field">
        <label htmlFor="model-select">Package</label>
        <select
          id="model-select"
          data-testid="model-select"
          value={choice}
          onChange={(e) => setChoice(e.currentTarget.value)}
        >
          {BUNDLED_MODELS.map((m) => (
            <option key={m} value={m}>
              {m} (bundled)
            </option>
          ))}
          {folders.map((f) => (
            <option key={f.url} value={f.url}>
              {f.name} (from a folder)
            </option>
          ))}
          <option value={CUSTOM}>Hosted package (URL or hf:)…</option>
        </select>
      </div>
      {choice === CUSTOM && (
        <div className="field">
          <label htmlFor="model-url">Package URL or hf:owner/repo</label>
          <input
            id="model-url"
            data-testid="model-url"
            type="url"
            placeholder="https://example.org/models/editmgt/ or hf:owner/repo"
            value={url}
            onChange={(e) => setUrl(e.currentTarget.value)}
          />
        </div>
      )}
      <div className="row">
        <button
          type="button"
          data-testid="load-model"
          disabled={!target.trim() || status === 'loading'}
          onClick={() =>
            target === modelUrl || isLocalPackageUrl(target) ? void loadModel(target) : chooseModel(target)
          }
        >
          {status === 'loading' ? 'Loading…' : target === modelUrl && status === 'ready' ? 'Reload' : 'Load'}
        </button>
        {status === 'loading' && (
          <button type="button" data-testid="cancel-load" onClick={cancelLoad}>
            Cancel
          </button>
        )}
        <button
          type="button"
          data-testid="clear-cache"
          onClick={() => void clearCache()}
          disabled={status === 'loading'}
        >
          Clear cache
        </button>
      </div>
      <OpenFolder />
      <p className="hint" data-testid="cache-size">
        Cached in this browser: {cache ? formatBytes(cache.bytes) : '—'}
      </p>
      {load && (
        <div className="downloads" data-testid="model-progress">
          <progress max={load.totalBytes || 1} value={load.totalLoaded} aria-label="Model download" />
          <span className="hint">
            {formatBytes(load.totalLoaded)} of {load.totalBytes ? formatBytes(load.totalBytes) : '…'}
          </span>
          <ul>
            {Object.entries(load.files).map(([file, p]) => (
              <li key={file}>
                <span className="file">{file}</span>
                <progress max={p.total || 1} value={p.loaded} aria-label={`${file} download`} />
                <span className="num">
                  {p.total ? `${Math.round((100 * p.loaded) / p.total)}%` : formatBytes(p.loaded)}
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
