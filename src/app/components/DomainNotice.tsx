import { useState } from 'react';
import { current } from '../lib/history';
import { useImageDigest } from '../hooks/useImageDigest';
import { useApp } from '../state/context';

/**
 * Says plainly what to expect when the image is not from the loaded model's domain. The test is
 * simple and stated: when the model declares a narrow domain, any image that is neither one of its
 * examples (by checksum) nor one of its own results gets the notice.
 */
export function DomainNotice() {
  const model = useApp((s) => s.model);
  const input = useApp((s) => current(s.history)?.input ?? null);
  const fromModel = useApp((s) => input !== null && s.history.entries.some((e) => e.result?.id === input.id));
  const narrow = model?.domain?.narrow === true;
  const digest = useImageDigest(narrow && input && !fromModel ? input.blob : null);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const domain = model?.domain;
  if (!domain || !narrow || !input || fromModel || !digest || dismissed === input.id) return null;
  if (domain.examples.some((e) => e.sha256 === digest)) return null;
  return (
    <div className="message notice domain-notice" role="status" data-testid="domain-notice">
      <div>
        <p>
          <strong>{model.name}</strong> was trained only on {domain.description}, and this image may not be
          one of those.
        </p>
        {domain.outside && <p>{domain.outside}</p>}
        <p>
          To edit photos, load EditMGT itself: convert the published checkpoint (the README’s “Converting the
          real model”), host the folder, then under{' '}
          <button
            type="button"
            className="linkish"
            data-testid="domain-notice-model"
            onClick={() => document.getElementById('model-select')?.focus()}
          >
            Model
          </button>{' '}
          choose “Hosted package (URL)…” and give its address.
        </p>
      </div>
      <button
        type="button"
        className="ghost"
        onClick={() => setDismissed(input.id)}
        aria-label="Dismiss this notice"
      >
        ✕
      </button>
    </div>
  );
}
