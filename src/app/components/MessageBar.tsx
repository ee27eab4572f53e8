import { useActions, useApp } from '../state/context';

/** The current error (what happened, what to do) and any short notice. */
export function MessageBar() {
  const error = useApp((s) => s.error);
  const notice = useApp((s) => s.notice);
  const { dismissError, dismissNotice } = useActions();
  return (
    <div className="messages">
      {error && (
        <div className="message error" role="alert">
          <p data-testid="error" data-source={error.source} data-code={error.code}>
            {error.message}
          </p>
          <button type="button" className="ghost" onClick={dismissError} aria-label="Dismiss this message">
            ✕
          </button>
        </div>
      )}
      {notice && (
        <div className="message notice" role="status">
          <p data-testid="notice">{notice}</p>
          <button type="button" className="ghost" onClick={dismissNotice} aria-label="Dismiss this notice">
            ✕
          </button>
        </div>
      )}
    </div>
  );
}
