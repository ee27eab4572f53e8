import { useState } from 'react';
import { useActions } from '../state/context';

/**
 * An access token for a gated hub repository. What is typed stays in this field until "Use this
 * token", then in memory for this repository's offer and download only: never saved, never put
 * in a URL or a message, and sent to the hub's own host only.
 */
export function HubTokenField({ host, given }: { host: string; given: boolean }) {
  const { giveHubToken } = useActions();
  const [token, setToken] = useState('');
  const use = () => {
    const value = token;
    setToken('');
    void giveHubToken(value);
  };
  return (
    <div className="field hub-token">
      <label htmlFor="hub-token">Access token for {host}</label>
      <div className="row">
        <input
          id="hub-token"
          data-testid="hub-token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder={given ? 'Another token' : 'hf_…'}
          value={token}
          onChange={(e) => setToken(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && token.trim()) use();
          }}
        />
        <button type="button" data-testid="hub-token-use" disabled={!token.trim()} onClick={use}>
          Use this token
        </button>
      </div>
      <p className="hint">
        Kept in this tab’s memory for this download only (not saved), and sent to {host} only.
      </p>
    </div>
  );
}
