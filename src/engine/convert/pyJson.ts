/**
 * JSON read and written the way the Python exporter writes its manifest
 * (`json.dumps(value, indent=1) + "\n"`), so both converters give the same bytes:
 *
 * - numbers keep their source text (`6.0` stays `6.0`, which `JSON.parse` would make `6`); new
 *   numbers are written as Python writes an int or a float (`pyFloat`);
 * - strings are escaped as `ensure_ascii` does (every character outside printable ASCII as
 *   `\uXXXX`, lower-case hex);
 * - one space of indent per level, `", "` never at line ends, `[]` and `{}` for empty containers.
 */

/** A number as its JSON text. */
export class PyNumber {
  constructor(readonly text: string) {}
  get value(): number {
    return Number(this.text);
  }
}

/** Objects are Maps: they keep the file's key order, integer-like keys included. */
export type PyJson = null | boolean | string | PyNumber | PyJson[] | PyObject;
export type PyObject = Map<string, PyJson>;

/** A Python int's text. */
export function pyInt(n: number): PyNumber {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${n} is not an integer`);
  return new PyNumber(String(n));
}

/** A Python float's `repr` (shortest round trip; exponent form below 1e-4 and from 1e16). */
export function pyFloat(x: number): PyNumber {
  if (!Number.isFinite(x)) throw new RangeError(`${x} has no JSON form`);
  if (x === 0) return new PyNumber(Object.is(x, -0) ? '-0.0' : '0.0');
  const [mant, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const sign = mant.startsWith('-') ? '-' : '';
  const digits = mant.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return new PyNumber(`${sign}${m}e${exp < 0 ? '-' : '+'}${e}`);
  }
  let text: string;
  if (exp < 0) text = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) text = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  else text = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return new PyNumber(sign + text);
}

/** Parses JSON text, keeping each number's text. */
export function parsePyJson(text: string, what: string): PyJson {
  let at = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`${what}: ${why} at character ${at}`);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const value = (): PyJson => {
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const out: PyObject = new Map();
      space();
      if (text[at] === '}') {
        at++;
        return out;
      }
      for (;;) {
        space();
        if (text[at] !== '"') fail('a key expected');
        const key = str();
        space();
        if (text[at] !== ':') fail("':' expected");
        at++;
        out.set(key, value());
        space();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === '}') {
          at++;
          return out;
        }
        fail("',' or '}' expected");
      }
    }
    if (c === '[') {
      at++;
      const out: PyJson[] = [];
      space();
      if (text[at] === ']') {
        at++;
        return out;
      }
      for (;;) {
        out.push(value());
        space();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === ']') {
          at++;
          return out;
        }
        fail("',' or ']' expected");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const)
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at, at + 64));
    if (!m) return fail('a value expected');
    at += m[0].length;
    return new PyNumber(m[0]);
  };
  const str = (): string => {
    const start = at;
    at++;
    while (at < text.length && text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
    if (at >= text.length) fail('unterminated string');
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const out = value();
  space();
  if (at !== text.length) fail('trailing characters');
  return out;
}

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

function write(v: PyJson, indent: string): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return pyString(v);
  if (v instanceof PyNumber) return v.text;
  const inner = `${indent} `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + write(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v.size === 0) return '{}';
  return `{\n${[...v].map(([k, x]) => `${inner}${pyString(k)}: ${write(x, inner)}`).join(',\n')}\n${indent}}`;
}

/** `json.dumps(value, indent=1) + "\n"`. */
export function pyJsonText(value: PyJson): string {
  return `${write(value, '')}\n`;
}

/** Plain JSON data (numbers, objects) as a PyJson value; floats are told by `floats`. */
export function fromPlain(
  value: unknown,
  isFloat: (path: string) => boolean = () => false,
  path = '',
): PyJson {
  if (typeof value === 'number')
    return isFloat(path) || !Number.isInteger(value) ? pyFloat(value) : pyInt(value);
  if (Array.isArray(value)) return value.map((x) => fromPlain(x, isFloat, `${path}[]`));
  if (value && typeof value === 'object')
    return new Map(Object.entries(value).map(([k, x]) => [k, fromPlain(x, isFloat, `${path}.${k}`)]));
  return value as null | boolean | string;
}

/** An object's field (undefined when absent or not an object). */
export function field(value: PyJson | undefined, ...keys: string[]): PyJson | undefined {
  let v = value;
  for (const k of keys) v = v instanceof Map ? v.get(k) : undefined;
  return v;
}

/** A PyJson value as plain JSON data (numbers as numbers). */
export function plain(value: PyJson): unknown {
  if (value instanceof PyNumber) return value.value;
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of value) out[k] = plain(x);
    return out;
  }
  return value;
}
