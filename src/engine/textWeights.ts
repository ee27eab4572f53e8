/**
 * Query-word text weights: restrict the consolidated attention to the instruction tokens of
 * chosen words (the reference's `local_query_text`). All ones = the reference default.
 */
import type { Tokenizer } from './ports';

/**
 * @param promptIds [L] LLM ids of the instruction (padded)
 * @returns Float32Array [L] with 1 on the matched positions and 0 elsewhere, or null when the
 *   query's tokens do not occur in the instruction.
 */
export function queryTextWeights(
  tokenizer: Tokenizer,
  promptIds: Int32Array,
  query: string,
  maxLength: number,
): Float32Array | null {
  const specials = new Set(tokenizer.encode('', maxLength).ids);
  const content = (text: string): number[] =>
    Array.from(tokenizer.encode(text, maxLength).ids).filter((id) => !specials.has(id));
  // SentencePiece-style vocabularies mark a leading space, so try the word with and without one
  for (const variant of [` ${query.trim()}`, query.trim()]) {
    const q = content(variant);
    if (q.length === 0) continue;
    for (let i = 0; i + q.length <= promptIds.length; i++) {
      if (q.every((id, j) => promptIds[i + j] === id)) {
        const w = new Float32Array(promptIds.length);
        for (let j = 0; j < q.length; j++) w[i + j] = 1;
        return w;
      }
    }
  }
  return null;
}
