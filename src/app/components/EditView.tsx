import { runMatchesEntry, shownFrame } from '../lib/derive';
import type { HistoryEntry } from '../lib/types';
import { useApp } from '../state/context';
import { AttentionLayer } from './AttentionLayer';
import { BrushLayer } from './BrushLayer';
import { ImageCanvas } from './ImageCanvas';
import { StageFrame } from './StageFrame';
import { TokenLayer } from './TokenLayer';

/**
 * The image with the live run over it: while running (or scrubbing a past step) the token grid;
 * once done the decoded result; the attention heatmap on top when it is switched on.
 */
export function EditView({ entry }: { entry: HistoryEntry }) {
  const run = useApp((s) => s.run);
  const scrub = useApp((s) => s.scrub);
  const word = useApp((s) => s.word);
  const overlay = useApp((s) => s.settings.overlay);
  const lambda = useApp((s) => s.settings.edit.hold);
  const brush = useApp((s) => s.settings.brush.enabled);
  const frame = run && runMatchesEntry(run, entry) ? shownFrame(run, scrub) : null;
  const frameIndex = run && frame ? run.frames.indexOf(frame) : -1;
  const atEnd = !run || scrub === null || scrub >= run.frames.length - 1;
  const showResult = Boolean(entry.result) && atEnd;
  const base = showResult && entry.result ? entry.result : entry.input;
  const running = run?.status === 'running';
  const wordMap = word && frame && word.step === frameIndex ? word.map : null;
  return (
    <StageFrame width={base.width} height={base.height}>
      <ImageCanvas
        image={base}
        label={showResult ? 'Edited image' : 'Input image'}
        testId={showResult ? 'result-image' : 'input-image'}
      />
      {frame && !showResult && <TokenLayer frame={frame} />}
      {frame && overlay.visible && (
        <AttentionLayer
          frame={frame}
          wordMap={wordMap}
          opacity={overlay.opacity}
          runLambda={run?.settings.hold ?? 0}
          lambda={lambda}
        />
      )}
      {brush && !running && !entry.result && <BrushLayer image={entry.input} />}
    </StageFrame>
  );
}
