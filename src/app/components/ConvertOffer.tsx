import { useEffect } from 'react';
import type { Dtype } from '../../protocol/messages';
import { formatBytes } from '../lib/progress';
import { convertStatusText } from '../state/convertActions';
import { useActions, useApp } from '../state/context';

/**
 * A checkpoint folder opened from disk: what was found and what converting it makes (the offer),
 * then the conversion's progress by bytes and by tensor with an ETA, and Cancel. Also offers again
 * a conversion that a closed or reloaded tab left unfinished: choosing the folder again, or opening
 * the hub repository again at the same commit, goes on from the graphs it had written.
 */
export function ConvertOffer() {
  const convert = useApp((s) => s.convert);
  const interrupted = useApp((s) => s.interrupted);
  const hydrated = useApp((s) => s.hydrated);
  const {
    acceptConversion,
    cancelConversion,
    chooseConvertDtype,
    declineConversion,
    checkInterruptedConversions,
    discardInterrupted,
    offerHubModel,
  } = useActions();
  // asked again whenever the store changes (a cleared cache removes them too)
  const cache = useApp((s) => s.cache);
  useEffect(() => {
    if (hydrated) void checkInterruptedConversions();
  }, [hydrated, cache, checkInterruptedConversions]);

  return (
    <>
      {interrupted.length > 0 && !convert && (
        <div className="convert" data-testid="convert-interrupted">
          {interrupted.map((i) => (
            <p key={i.job}>
              The conversion of <strong>{i.name}</strong> to {i.dtype} stopped when the page was closed or
              reloaded,{' '}
              {i.graphsDone > 0
                ? `with ${i.graphsDone} of ${i.graphsTotal} graphs written.`
                : 'before any graph was written.'}{' '}
              {i.from.startsWith('hf:')
                ? `Open ${i.from} again (the same commit; a gated repository asks for its token again) and convert it to ${i.dtype}${i.graphsDone > 0 ? ': it goes on from there.' : '.'}`
                : `Choose the folder ${i.name} again to ${i.graphsDone > 0 ? 'go on from there' : 'convert it from the start'} (the browser does not keep access to a folder across a reload).`}{' '}
              {i.from.startsWith('hf:') ? (
                <button type="button" data-testid="convert-resume" onClick={() => offerHubModel(i.from)}>
                  Open {i.from} again
                </button>
              ) : (
                <label className="button" htmlFor="open-folder" data-testid="convert-restart">
                  Choose {i.name} again…
                </label>
              )}{' '}
              <button
                type="button"
                data-testid="convert-discard"
                onClick={() => void discardInterrupted(i.job)}
              >
                Discard
              </button>
            </p>
          ))}
        </div>
      )}
      {convert?.stage === 'inspecting' && (
        <p className="hint convert" data-testid="convert-reading">
          Reading {convert.folder.name}…
        </p>
      )}
      {convert?.stage === 'offer' && convert.found && (
        <div className="convert" data-testid="convert-offer">
          <p>
            <strong>{convert.found.name}</strong> is a checkpoint, not a converted package. Convert it in this
            tab?
          </p>
          <ul className="hint">
            <li data-testid="convert-model">{convert.found.model}</li>
            <li>Checkpoint: {formatBytes(convert.found.checkpointBytes)}</li>
            <li data-testid="convert-space">
              Space needed:{' '}
              {formatBytes(convert.found.dtypes.find((d) => d.dtype === convert.dtype)?.bytes ?? 0)}
              {convert.found.freeBytes !== null && ` (${formatBytes(convert.found.freeBytes)} free)`}
            </li>
          </ul>
          <div className="row">
            <label htmlFor="convert-dtype">Makes</label>
            <select
              id="convert-dtype"
              data-testid="convert-dtype"
              value={convert.dtype ?? ''}
              onChange={(e) => chooseConvertDtype(e.currentTarget.value as Dtype)}
            >
              {convert.found.dtypes.map((d) => (
                <option key={d.dtype} value={d.dtype}>
                  {d.dtype} ({formatBytes(d.bytes)})
                </option>
              ))}
            </select>
            <button type="button" data-testid="convert-accept" onClick={() => void acceptConversion()}>
              Convert
            </button>
            <button type="button" data-testid="convert-decline" onClick={declineConversion}>
              Not now
            </button>
          </div>
        </div>
      )}
      {convert?.stage === 'converting' && (
        <div className="convert downloads" data-testid="convert-progress">
          <p>
            Converting {convert.folder.name} to {convert.dtype}
            {convert.progress?.graph ? ` (${convert.progress.graph})` : ''}…
          </p>
          {convert.progress?.colours ? (
            <progress
              max={convert.progress.colours.gridsTotal || 1}
              value={convert.progress.colours.gridsDone}
              aria-label="Preview colours"
            />
          ) : (
            <progress
              max={convert.progress?.totalBytes || 1}
              value={convert.progress?.bytesWritten ?? 0}
              aria-label="Conversion"
            />
          )}
          <span className="hint" data-testid="convert-status">
            {convert.progress ? convertStatusText(convert.progress) : 'starting…'}
          </span>
          <button type="button" data-testid="convert-cancel" onClick={cancelConversion}>
            Cancel
          </button>
        </div>
      )}
    </>
  );
}
