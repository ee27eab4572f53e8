import { useActions, useApp } from '../state/context';

/** What to change: Enter runs, Shift+Enter starts a new line; suggestions come from the model. */
export function InstructionBox() {
  const instruction = useApp((s) => s.instruction);
  const suggestions = useApp((s) => s.model?.suggestions);
  const maxTokens = useApp((s) => s.model?.maxInstructionTokens);
  const { setInstruction, run } = useActions();
  return (
    <div className="field instruction">
      <label htmlFor="instruction">Edit instruction</label>
      <textarea
        id="instruction"
        data-testid="instruction"
        rows={3}
        value={instruction}
        placeholder="make the sky purple"
        aria-describedby="instruction-help"
        onChange={(e) => setInstruction(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            void run();
          }
        }}
      />
      <small id="instruction-help" className="hint">
        Enter runs · Shift+Enter new line{maxTokens ? ` · up to ${maxTokens} tokens` : ''}
      </small>
      {suggestions && suggestions.length > 0 && (
        <div className="suggestions" role="group" aria-label="Suggestions">
          {suggestions.map((s) => (
            <button key={s} type="button" className="chip" onClick={() => setInstruction(s)}>
              {s}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
