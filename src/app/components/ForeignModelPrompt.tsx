import { formatBytes } from '../lib/progress';
import { useActions, useEditor } from '../state/context';

/** "Download a model from another site?": the host and the download size, then yes or no. */
export function ForeignModelPrompt() {
  const offer = useEditor((s) => s.foreignModel);
  const { acceptForeignModel, declineForeignModel } = useActions();
  if (!offer) return null;
  const sizes = offer.sizes?.map((s) => s.bytes) ?? [];
  const min = Math.min(...sizes);
  const max = Math.max(...sizes);
  const size =
    sizes.length === 0
      ? ''
      : min === max
        ? formatBytes(max)
        : `${formatBytes(min)} to ${formatBytes(max)}, by precision`;
  return (
    <section
      className="message notice offer"
      role="dialog"
      aria-labelledby="foreign-model-title"
      data-testid="foreign-model"
    >
      <div>
        <p id="foreign-model-title">
          This link asks to download a model from{' '}
          <strong data-testid="foreign-model-host">{offer.host}</strong>, another site.
        </p>
        <p className="hint">{offer.url}</p>
        {offer.problem ? (
          <p data-testid="foreign-model-problem">
            It cannot be loaded: {offer.problem}. The current model stays.
          </p>
        ) : offer.sizes ? (
          <p>
            Download: <strong data-testid="foreign-model-size">{size}</strong>, kept in this browser. Load it
            only if you trust this host.
          </p>
        ) : (
          <p className="hint">Reading its manifest…</p>
        )}
      </div>
      <div className="row">
        {offer.sizes && (
          <button
            type="button"
            className="primary"
            data-testid="foreign-model-accept"
            onClick={acceptForeignModel}
          >
            Download and load
          </button>
        )}
        <button type="button" data-testid="foreign-model-decline" onClick={declineForeignModel}>
          {offer.problem ? 'Close' : 'Keep the current model'}
        </button>
      </div>
    </section>
  );
}
