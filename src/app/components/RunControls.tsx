import { useActions, useApp } from '../state/context';
import { RunProgress } from './RunProgress';

/** Run and Cancel, with the live progress under them. */
export function RunControls() {
  const running = useApp((s) => s.run?.status === 'running');
  const { run, cancel } = useActions();
  return (
    <div className="run-controls">
      <div className="row">
        <button
          type="button"
          className="primary"
          data-testid="run"
          onClick={() => void run()}
          disabled={running}
          aria-keyshortcuts="Control+Enter"
        >
          {running ? 'Running…' : 'Run edit'}
        </button>
        <button
          type="button"
          data-testid="cancel"
          onClick={cancel}
          disabled={!running}
          aria-keyshortcuts="Escape"
        >
          Cancel
        </button>
      </div>
      <RunProgress />
    </div>
  );
}
