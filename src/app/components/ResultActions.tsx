import { current } from '../lib/history';
import { useActions, useApp } from '../state/context';

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Download the result (PNG, original size) or make it the next edit's input. */
export function ResultActions() {
  const result = useApp((s) => current(s.history)?.result ?? null);
  const running = useApp((s) => s.run?.status === 'running');
  const { chainResult } = useActions();
  return (
    <div className="row result-actions">
      <button
        type="button"
        data-testid="download"
        disabled={!result}
        onClick={() => result && download(result.blob, result.name)}
      >
        Download PNG{result ? ` (${result.width}×${result.height})` : ''}
      </button>
      <button
        type="button"
        data-testid="use-as-input"
        disabled={!result || running}
        onClick={() => void chainResult()}
      >
        Use as input
      </button>
    </div>
  );
}
