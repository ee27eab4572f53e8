import { formatBytes } from '../lib/progress';
import { useActions, useApp } from '../state/context';
import { HubTokenField } from './HubTokenField';

/**
 * "Download a model from another site?": first the host alone, with nothing fetched from it; the
 * size once the person asks for it (which contacts the host, as the prompt then says); then yes or no.
 */
export function ForeignModelPrompt() {
  const offer = useApp((s) => s.foreignModel);
  const { checkForeignModel, acceptForeignModel, declineForeignModel, convertHubCheckpoint } = useActions();
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
  const exact = offer.sizes?.map((s) => `${s.dtype}: ${s.bytes.toLocaleString('en')} bytes`).join('; ');
  return (
    <section
      className="message notice offer"
      role="dialog"
      aria-labelledby="foreign-model-title"
      data-testid="foreign-model"
    >
      <div>
        <p id="foreign-model-title">
          {offer.hub ? 'Download a model from the hub ' : 'This link asks to download a model from '}
          <strong data-testid="foreign-model-host">{offer.host}</strong>, another site.
        </p>
        {offer.hub ? (
          <p>
            Repository <strong data-testid="foreign-model-repo">hf:{offer.hub.repo}</strong>, revision{' '}
            <span data-testid="foreign-model-revision">
              {offer.hub.revision}
              {offer.hub.commit && offer.hub.commit !== offer.hub.revision
                ? ` (commit ${offer.hub.commit})`
                : ''}
            </span>
          </p>
        ) : (
          <p className="hint">{offer.url}</p>
        )}
        <p className="hint" data-testid="foreign-model-contact" data-contacted={offer.contacted}>
          {!offer.contacted
            ? `Nothing has been fetched from ${offer.host}. Its size is in its manifest; reading that contacts ${offer.host}.`
            : offer.sizes
              ? `${offer.host} was contacted to read the package’s manifest, so it knows of this visit.`
              : `This page asked ${offer.host} for the package’s manifest, so it may know of this visit.`}
        </p>
        {offer.problem ? (
          <p data-testid="foreign-model-problem">
            It cannot be loaded: {offer.problem}. The current model stays.
          </p>
        ) : null}
        {offer.hub?.needsToken && <HubTokenField host={offer.host} given={offer.hub.tokenGiven} />}
        {offer.hub?.kind === 'checkpoint' && offer.hub.checkpointBytes !== null && (
          <p data-testid="foreign-model-checkpoint">
            It holds a checkpoint, not a converted package: it can be converted in this tab. Download: up to{' '}
            <strong
              data-testid="foreign-model-download"
              title={`${offer.hub.checkpointBytes.toLocaleString('en')} bytes`}
            >
              {formatBytes(offer.hub.checkpointBytes)}
            </strong>{' '}
            (its files, read by range as the conversion needs them); the package’s size and the space it needs
            are shown next.
          </p>
        )}
        {offer.problem ? null : offer.sizes ? (
          <p>
            Download:{' '}
            <strong data-testid="foreign-model-size" title={exact}>
              {size}
            </strong>
            , kept in this browser. Load it only if you trust this host.
          </p>
        ) : offer.contacted && !offer.hub?.kind ? (
          <p className="hint">{offer.hub ? 'Asking the hub…' : 'Reading its manifest…'}</p>
        ) : null}
      </div>
      <div className="row">
        {!offer.contacted && (
          <button type="button" data-testid="foreign-model-check" onClick={() => void checkForeignModel()}>
            Ask {offer.host} for the size
          </button>
        )}
        {offer.hub?.kind === 'checkpoint' && offer.hub.commit && (
          <button
            type="button"
            className="primary"
            data-testid="foreign-model-convert"
            onClick={convertHubCheckpoint}
          >
            Convert in this tab…
          </button>
        )}
        {offer.sizes && (
          <button
            type="button"
            className="primary"
            data-testid="foreign-model-accept"
            onClick={() => void acceptForeignModel()}
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
