import { etaMs, formatDuration, stepCounterText } from '../lib/progress';
import { useApp } from '../state/context';

/** Step counter "k/N", a progress bar, and the time left (from the mean step time so far). */
export function RunProgress() {
  const run = useApp((s) => s.run);
  const planned = useApp((s) => s.settings.edit.steps);
  const steps = run?.frames.at(-1)?.steps ?? run?.settings.steps ?? planned;
  const done = run?.frames.length ?? 0;
  const elapsed = run?.frames.at(-1)?.elapsedMs ?? 0;
  const running = run?.status === 'running';
  const eta = running ? etaMs(done, steps, elapsed) : null;
  return (
    <div className="progress" aria-live="polite">
      <div className="row between">
        <span>
          Step <strong data-testid="step-counter">{stepCounterText(done, steps)}</strong>
        </span>
        <span className="hint" data-testid="eta">
          {running
            ? done === 0
              ? 'preparing…'
              : `about ${formatDuration(eta)} left`
            : run?.ms
              ? `took ${formatDuration(run.ms)}`
              : ''}
        </span>
      </div>
      <progress max={steps || 1} value={done} aria-label="Edit progress" />
    </div>
  );
}
