import { useActions, useApp } from '../state/context';

/** Shows the map and token grid at any past step of the last run. */
export function StepScrubber() {
  const frames = useApp((s) => s.run?.frames);
  const scrub = useApp((s) => s.scrub);
  const running = useApp((s) => s.run?.status === 'running');
  const { scrubTo } = useActions();
  if (!frames || frames.length === 0) return null;
  const last = frames.length - 1;
  const value = scrub ?? last;
  return (
    <label className="row scrubber">
      <span>Step</span>
      <input
        type="range"
        min={0}
        max={last}
        step={1}
        value={value}
        data-testid="step-scrubber"
        aria-valuetext={`step ${value + 1} of ${frames[value].steps}`}
        onChange={(e) => {
          const v = Number(e.currentTarget.value);
          scrubTo(v === last && running ? null : v);
        }}
      />
      <output className="num" data-testid="scrub-step">
        {value + 1}/{frames[value].steps}
      </output>
      {scrub !== null && (running || scrub < last) && (
        <button type="button" className="ghost" onClick={() => scrubTo(null)}>
          {running ? 'Follow' : 'Result'}
        </button>
      )}
    </label>
  );
}
