/** The instruction split into words, each with its character span, for per-word attention maps. */
export interface Word {
  text: string;
  /** Position among the instruction's words. */
  index: number;
  /** Character span [from, to) in the instruction (what the worker's wordMap start/end take). */
  from: number;
  to: number;
}

export function splitWords(instruction: string): Word[] {
  const words: Word[] = [];
  for (const m of instruction.matchAll(/\S+/g)) {
    const from = m.index ?? 0;
    words.push({ text: m[0], index: words.length, from, to: from + m[0].length });
  }
  return words;
}
