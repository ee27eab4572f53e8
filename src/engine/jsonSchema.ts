/**
 * A small JSON Schema (draft 2020-12) validator for the subset our manifest schema uses, so the
 * engine validates manifests against src/engine/manifest.schema.json without a dependency.
 * Unsupported keywords are reported (never silently ignored).
 */

type Schema = boolean | { readonly [k: string]: unknown };

const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$comment',
  'title',
  'description',
  'examples',
  'default',
  '$defs',
  'definitions',
  'deprecated',
  'readOnly',
  'writeOnly',
  'format',
]);
const SUPPORTED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'patternProperties',
  'propertyNames',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'pattern',
  'minLength',
  'maxLength',
  'minProperties',
  'maxProperties',
  '$ref',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Returns the errors (empty when valid); each names the JSON path. */
export function validateJsonSchema(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const resolveRef = (ref: string): Schema => {
    if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
    let node: unknown = root;
    for (const part of ref.slice(2).split('/'))
      node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
    return node as Schema;
  };
  const check = (s: Schema, v: unknown, path: string, out: string[]): void => {
    if (s === true) return;
    if (s === false) {
      out.push(`${path}: not allowed`);
      return;
    }
    for (const k of Object.keys(s))
      if (!ANNOTATIONS.has(k) && !SUPPORTED.has(k)) throw new Error(`schema keyword "${k}" is not supported`);
    if (s['$ref'] !== undefined) check(resolveRef(s['$ref'] as string), v, path, out);
    if (s['type'] !== undefined) {
      const types = Array.isArray(s['type']) ? (s['type'] as string[]) : [s['type'] as string];
      if (!types.some((t) => typeMatches(v, t))) {
        out.push(`${path}: expected ${types.join(' or ')}, got ${typeOf(v)}`);
        return;
      }
    }
    if (s['const'] !== undefined && !equal(s['const'], v))
      out.push(`${path}: must be ${JSON.stringify(s['const'])}`);
    if (s['enum'] !== undefined && !(s['enum'] as unknown[]).some((e) => equal(e, v)))
      out.push(`${path}: must be one of ${JSON.stringify(s['enum'])}`);
    if (typeof v === 'number') {
      if (typeof s['minimum'] === 'number' && v < s['minimum'])
        out.push(`${path}: must be ≥ ${s['minimum']}`);
      if (typeof s['maximum'] === 'number' && v > s['maximum'])
        out.push(`${path}: must be ≤ ${s['maximum']}`);
      if (typeof s['exclusiveMinimum'] === 'number' && v <= s['exclusiveMinimum'])
        out.push(`${path}: must be > ${s['exclusiveMinimum']}`);
      if (typeof s['exclusiveMaximum'] === 'number' && v >= s['exclusiveMaximum'])
        out.push(`${path}: must be < ${s['exclusiveMaximum']}`);
      if (typeof s['multipleOf'] === 'number' && !Number.isInteger(v / s['multipleOf']))
        out.push(`${path}: must be a multiple of ${s['multipleOf']}`);
    }
    if (typeof v === 'string') {
      if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(v))
        out.push(`${path}: does not match ${s['pattern']}`);
      const len = [...v].length;
      if (typeof s['minLength'] === 'number' && len < s['minLength'])
        out.push(`${path}: shorter than ${s['minLength']}`);
      if (typeof s['maxLength'] === 'number' && len > s['maxLength'])
        out.push(`${path}: longer than ${s['maxLength']}`);
    }
    if (Array.isArray(v)) {
      if (typeof s['minItems'] === 'number' && v.length < s['minItems'])
        out.push(`${path}: fewer than ${s['minItems']} items`);
      if (typeof s['maxItems'] === 'number' && v.length > s['maxItems'])
        out.push(`${path}: more than ${s['maxItems']} items`);
      if (s['uniqueItems'] === true && new Set(v.map((x) => JSON.stringify(x))).size !== v.length)
        out.push(`${path}: items are not unique`);
      const prefix = (s['prefixItems'] as Schema[] | undefined) ?? [];
      v.forEach((item, i) => {
        if (i < prefix.length) check(prefix[i]!, item, `${path}[${i}]`, out);
        else if (s['items'] !== undefined) check(s['items'] as Schema, item, `${path}[${i}]`, out);
      });
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      for (const r of (s['required'] as string[] | undefined) ?? [])
        if (!(r in o)) out.push(`${path}: missing "${r}"`);
      if (typeof s['minProperties'] === 'number' && keys.length < s['minProperties'])
        out.push(`${path}: fewer than ${s['minProperties']} properties`);
      if (typeof s['maxProperties'] === 'number' && keys.length > s['maxProperties'])
        out.push(`${path}: more than ${s['maxProperties']} properties`);
      const props = (s['properties'] as Record<string, Schema> | undefined) ?? {};
      const patterns = Object.entries(
        (s['patternProperties'] as Record<string, Schema> | undefined) ?? {},
      ).map(([p, sub]) => [new RegExp(p, 'u'), sub] as const);
      for (const k of keys) {
        const sub = `${path}.${k}`;
        if (s['propertyNames'] !== undefined) check(s['propertyNames'] as Schema, k, `${sub} (name)`, out);
        let matched = false;
        if (k in props) {
          matched = true;
          check(props[k]!, o[k], sub, out);
        }
        for (const [re, ps] of patterns) {
          if (re.test(k)) {
            matched = true;
            check(ps, o[k], sub, out);
          }
        }
        if (!matched && s['additionalProperties'] !== undefined)
          check(s['additionalProperties'] as Schema, o[k], sub, out);
      }
    }
    const branch = (list: unknown): string[][] =>
      ((list as Schema[] | undefined) ?? []).map((b) => {
        const e: string[] = [];
        check(b, v, path, e);
        return e;
      });
    if (s['allOf'] !== undefined) for (const e of branch(s['allOf'])) out.push(...e);
    if (s['anyOf'] !== undefined) {
      const r = branch(s['anyOf']);
      if (!r.some((e) => e.length === 0))
        out.push(`${path}: matches none of anyOf (${r.map((e) => e[0]).join('; ')})`);
    }
    if (s['oneOf'] !== undefined) {
      const n = branch(s['oneOf']).filter((e) => e.length === 0).length;
      if (n !== 1) out.push(`${path}: matches ${n} of oneOf, expected exactly 1`);
    }
    if (s['not'] !== undefined) {
      const e: string[] = [];
      check(s['not'] as Schema, v, path, e);
      if (e.length === 0) out.push(`${path}: must not match the "not" schema`);
    }
    if (s['if'] !== undefined) {
      const e: string[] = [];
      check(s['if'] as Schema, v, path, e);
      const next = e.length === 0 ? s['then'] : s['else'];
      if (next !== undefined) check(next as Schema, v, path, out);
    }
  };
  check(root, value, '$', errors);
  return errors;
}
