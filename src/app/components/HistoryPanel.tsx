import { canRedo, canUndo } from '../lib/history';
import { useActions, useApp } from '../state/context';

/** Thumbnails of every step of the session, newest last; undo/redo move through them. */
export function HistoryPanel() {
  const history = useApp((s) => s.history);
  const running = useApp((s) => s.run?.status === 'running');
  const { undo, redo, jumpTo } = useActions();
  return (
    <section className="panel history" aria-labelledby="history-title">
      <div className="row between">
        <h2 id="history-title">History</h2>
        <div className="row">
          <button
            type="button"
            data-testid="undo"
            onClick={undo}
            disabled={running || !canUndo(history)}
            aria-keyshortcuts="Control+Z"
            title="Undo (Ctrl+Z)"
          >
            Undo
          </button>
          <button
            type="button"
            data-testid="redo"
            onClick={redo}
            disabled={running || !canRedo(history)}
            aria-keyshortcuts="Control+Y"
            title="Redo (Ctrl+Y)"
          >
            Redo
          </button>
        </div>
      </div>
      {history.entries.length === 0 ? (
        <p className="hint">Images you open and edits you make appear here, and are kept across reloads.</p>
      ) : (
        <ol className="thumbs" data-testid="history-list">
          {history.entries.map((e, i) => (
            <li key={e.id}>
              <button
                type="button"
                className={`thumb${i === history.cursor ? ' current' : ''}`}
                aria-current={i === history.cursor ? 'step' : undefined}
                data-testid="history-item"
                data-kind={e.kind}
                disabled={running}
                onClick={() => jumpTo(i)}
                title={e.label}
              >
                <img src={e.thumb} alt="" />
                <span>{e.kind === 'edit' ? `“${e.label}”` : e.label}</span>
              </button>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
