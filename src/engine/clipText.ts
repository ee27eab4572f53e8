/**
 * CLIP text normalisation as the reference's slow CLIP tokenizer does it before BPE:
 * `whitespace_clean(ftfy.fix_text(text)).lower()`. The package's tokenizer.json only does NFC,
 * whitespace and lower case, so without this a phone keyboard's `’`, full-width letters, `&amp;`
 * or `ﬁ` give other CLIP ids than the reference. A port of ftfy 6.3's `fix_text` with its default
 * settings, in ftfy's order, repeated until the text stops changing; the character tables come
 * from ftfy and Python's html module (clipTextTables.ts, written by the exporter's
 * clip_text.py). Not ported: ftfy's mojibake repair (text decoded with the wrong codec), which
 * typed instructions do not contain.
 */
import { C1, CHARREFS, ENTITIES, INVALID_CODEPOINTS as INVALID, LIGATURES, WIDTH } from './clipTextTables';

type Table = Readonly<Record<string, string>>;

const INVALID_CODEPOINTS = new Set<number>(INVALID);

const HTML_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;
const NUMERIC_REF = /^&#(?:([0-9]+)|[xX]([0-9a-fA-F]+));$/;
const C1_CONTROL = /[\x80-\x9f]/g;
const SINGLE_QUOTE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE = /[\u201c-\u201f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Python's \d in a str pattern is any decimal digit
// eslint-disable-next-line no-control-regex -- the terminal escapes ftfy removes start with ESC
const ANSI_ESCAPE = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;
// eslint-disable-next-line no-control-regex -- the control characters ftfy removes
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
// Python's \s in a str pattern (str.isspace), which includes the separators \x1c–\x1f
// eslint-disable-next-line no-control-regex
const WHITESPACE = /[ \t\n\v\f\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

/** One `&…;` as ftfy's unescape_html reads it: named entities, then numeric references as html.unescape. */
function unescapeEntity(ref: string): string {
  const named = ENTITIES[ref];
  if (named !== undefined) return named;
  const m = NUMERIC_REF.exec(ref);
  if (!m) return ref;
  const num = m[1] !== undefined ? Number.parseInt(m[1], 10) : Number.parseInt(m[2]!, 16);
  const fixed = CHARREFS[String(num)];
  if (fixed !== undefined) return fixed;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  if (INVALID_CODEPOINTS.has(num)) return '';
  return String.fromCodePoint(num);
}

function translate(text: string, table: Table): string {
  let out = '';
  for (const ch of text) out += table[String(ch.codePointAt(0))] ?? ch;
  return out;
}

/** ftfy's fix_and_explain on one segment, without the mojibake repair. */
function fixSegment(segment: string, unescapeHtml: boolean): string {
  let text = segment;
  for (;;) {
    const before = text;
    if (unescapeHtml) text = text.replace(HTML_ENTITY, unescapeEntity);
    text = text.replace(C1_CONTROL, (c) => C1[String(c.charCodeAt(0))] ?? c);
    text = translate(text, LIGATURES);
    text = translate(text, WIDTH);
    text = text.replace(SINGLE_QUOTE, "'").replace(DOUBLE_QUOTE, '"');
    text = text.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\x85]/g, '\n');
    text = text.replace(LONE_SURROGATE, '\ufffd');
    text = text.replace(ANSI_ESCAPE, '');
    text = text.replace(CONTROL_CHARS, '');
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

/**
 * ftfy.fix_text with its defaults (mojibake repair aside): line by line; HTML entities are
 * unescaped only until a line containing `<` is met (ftfy's "auto": that text may be HTML).
 */
export function fixText(text: string): string {
  let unescapeHtml = true;
  let out = '';
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    const segment = text.slice(pos, end);
    if (segment.includes('<')) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    pos = end;
  }
  return out;
}

/** The slow CLIP tokenizer's text preparation: ftfy, whitespace runs to one space, strip, lower case. */
export function normalizeClipText(text: string): string {
  return fixText(text).replace(WHITESPACE, ' ').replace(/^ | $/g, '').toLowerCase();
}
