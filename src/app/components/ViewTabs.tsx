import { current } from '../lib/history';
import type { StageView } from '../lib/types';
import { useActions, useApp } from '../state/context';

const VIEWS: { id: StageView; label: string }[] = [
  { id: 'edit', label: 'Edit' },
  { id: 'compare', label: 'Before / after' },
  { id: 'side', label: 'Side by side' },
];

/** Switches the stage between the edit view and the two comparisons (once there is a result). */
export function ViewTabs() {
  const view = useApp((s) => s.view);
  const hasResult = useApp((s) => Boolean(current(s.history)?.result));
  const { setView } = useActions();
  return (
    <div className="tabs" role="radiogroup" aria-label="View">
      {VIEWS.map((v) => (
        <button
          key={v.id}
          type="button"
          role="radio"
          aria-checked={view === v.id}
          disabled={v.id !== 'edit' && !hasResult}
          data-testid={`view-${v.id}`}
          onClick={() => setView(v.id)}
        >
          {v.label}
        </button>
      ))}
    </div>
  );
}
