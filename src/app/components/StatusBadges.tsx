import { modelFieldText } from '../lib/modelUrl';
import { useApp } from '../state/context';

/** Backend (WebGPU adapter, or WASM with its threads), and the model with its precision. */
export function StatusBadges() {
  const backend = useApp((s) => s.backend);
  const model = useApp((s) => s.model);
  const status = useApp((s) => s.modelStatus);
  const backendText = backend
    ? backend.backend === 'webgpu'
      ? `WebGPU · ${backend.adapter || 'unknown adapter'}`
      : `WASM · ${backend.threads} thread${backend.threads === 1 ? '' : 's'}`
    : 'starting…';
  const modelText = model
    ? `${model.name} · ${model.dtype}`
    : status === 'loading'
      ? 'loading model…'
      : status === 'failed'
        ? 'no model'
        : 'no model yet';
  return (
    <div className="badges">
      <span className="badge" data-testid="backend-badge" title={backend?.fallbackReason ?? undefined}>
        {backendText}
        {backend?.fallbackReason && <span className="visually-hidden"> ({backend.fallbackReason})</span>}
        {backend?.fallbackReason && <span aria-hidden="true"> · fallback ⓘ</span>}
      </span>
      <span
        className="badge"
        data-testid="model-badge"
        title={model ? modelFieldText(model.baseUrl, location.href) : undefined}
      >
        {modelText}
      </span>
    </div>
  );
}
