import { useMemo } from 'react';
import { splitWords } from '../lib/words';
import { useActions, useApp } from '../state/context';

/** More words than any model reads: a longer instruction shows only these (and says so). */
export const MAX_WORD_CHIPS = 64;

/** The run's instruction as buttons: pick a word to see where it attends. */
export function WordChips() {
  const instruction = useApp((s) => (s.run && s.run.frames.length > 0 ? s.run.instruction : null));
  const selected = useApp((s) => s.word?.index ?? null);
  const loading = useApp((s) => s.word !== null && s.word.map === null);
  const { selectWord } = useActions();
  const words = useMemo(() => (instruction ? splitWords(instruction) : []), [instruction]);
  if (words.length === 0) return null;
  return (
    <div className="words" role="group" aria-label="Attention per word">
      <span className="hint">Where each word looks:</span>
      {words.slice(0, MAX_WORD_CHIPS).map((w) => (
        <button
          key={w.index}
          type="button"
          className={`chip${selected === w.index ? ' selected' : ''}`}
          aria-pressed={selected === w.index}
          data-testid="word-chip"
          onClick={() => void selectWord(selected === w.index ? null : w.index)}
        >
          {w.text}
        </button>
      ))}
      {words.length > MAX_WORD_CHIPS && (
        <span className="hint" data-testid="more-words">
          and {words.length - MAX_WORD_CHIPS} more words, not shown
        </span>
      )}
      {loading && <span className="hint">…</span>}
    </div>
  );
}
