/**
 * Writes src/engine/manifest.types.ts from src/engine/manifest.schema.json, so the manifest's
 * TypeScript type and its JSON Schema have one source: the schema. A unit test regenerates the
 * file and fails when the committed copy differs (run `npm run gen:manifest-types` after editing
 * the schema).
 *
 * Covers the schema subset the manifest uses: objects (properties, required, patternProperties
 * over a fixed list of names, propertyNames, additionalProperties), arrays and fixed-length
 * tuples, enum, const, anyOf, and $refs to $defs (objects and enums become named types).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';

type Schema = { readonly [k: string]: unknown };

export const SCHEMA_PATH = fileURLToPath(new URL('../src/engine/manifest.schema.json', import.meta.url));
export const TYPES_PATH = fileURLToPath(new URL('../src/engine/manifest.types.ts', import.meta.url));

const pascal = (name: string) => name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
const literal = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));
const isIdent = (k: string) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k);

/** The names a patternProperties key like ^(a|b|c)$ allows, or null when it is not such a list. */
function alternation(pattern: string): string[] | null {
  const m = /^\^\(([A-Za-z0-9_|]+)\)\$$/.exec(pattern);
  return m ? m[1]!.split('|') : null;
}

function doc(s: Schema, pad: string): string {
  return typeof s['description'] === 'string' ? `${pad}/** ${s['description']} */\n` : '';
}

class Generator {
  /** $defs turned into named types, in the order first met. */
  readonly named = new Map<string, string>();

  constructor(private readonly root: Schema) {}

  private ref(ref: string, pad: string): string {
    const name = ref.replace('#/$defs/', '');
    const def = (this.root['$defs'] as Record<string, Schema>)[name];
    if (!ref.startsWith('#/$defs/') || !def) throw new Error(`unsupported $ref ${ref}`);
    // Plain strings, numbers and arrays are inlined; objects and enums get a name.
    if (def['type'] !== 'object' && def['enum'] === undefined) return this.type(def, pad);
    const type = pascal(name);
    if (!this.named.has(type)) {
      this.named.set(type, ''); // reserved first: a def may refer to itself
      this.named.set(type, this.type(def, ''));
    }
    return type;
  }

  type(s: Schema, pad: string): string {
    if (s['$ref'] !== undefined) return this.ref(s['$ref'] as string, pad);
    if (s['const'] !== undefined) return literal(s['const']);
    if (s['enum'] !== undefined) return (s['enum'] as unknown[]).map(literal).join(' | ');
    if (s['anyOf'] !== undefined) return (s['anyOf'] as Schema[]).map((b) => this.type(b, pad)).join(' | ');
    switch (s['type']) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array':
        return this.array(s, pad);
      case 'object':
        return this.object(s, pad);
      default:
        throw new Error(`unsupported schema ${JSON.stringify(s).slice(0, 80)}`);
    }
  }

  private array(s: Schema, pad: string): string {
    const items = (s['items'] as Schema | undefined) ?? {};
    const item = this.type(items, pad);
    const n = s['minItems'];
    if (typeof n === 'number' && n === s['maxItems'] && n <= 4)
      return `readonly [${Array<string>(n).fill(item).join(', ')}]`;
    return item.includes(' ') ? `readonly (${item})[]` : `readonly ${item}[]`;
  }

  private object(s: Schema, pad: string): string {
    const inner = `${pad}  `;
    const required = new Set((s['required'] as string[] | undefined) ?? []);
    const props = Object.entries((s['properties'] as Record<string, Schema> | undefined) ?? {});
    const patterns = Object.entries((s['patternProperties'] as Record<string, Schema> | undefined) ?? {});
    const extra = s['additionalProperties'];
    const names = s['propertyNames'] as Schema | undefined;
    const parts: string[] = [];
    if (props.length) {
      const lines = props.map(
        ([k, sub]) =>
          `${doc(sub, inner)}${inner}readonly ${isIdent(k) ? k : literal(k)}${required.has(k) ? '' : '?'}: ${this.type(sub, inner)};`,
      );
      if (extra === true) lines.push(`${inner}readonly [key: string]: unknown;`);
      parts.push(`{\n${lines.join('\n')}\n${pad}}`);
    }
    for (const [pattern, sub] of patterns) {
      const keys = alternation(pattern);
      if (!keys) throw new Error(`unsupported patternProperties ${pattern}`);
      const optional = keys.every((k) => required.has(k)) ? '' : '?';
      parts.push(`{ readonly [K in ${keys.map(literal).join(' | ')}]${optional}: ${this.type(sub, pad)} }`);
    }
    if (typeof extra === 'object' && extra !== null) {
      const value = this.type(extra as Schema, pad);
      const keyType = names?.['$ref'] !== undefined ? this.type(names, pad) : 'string';
      parts.push(
        keyType === 'string'
          ? `{ readonly [key: string]: ${value} }`
          : `{ readonly [K in ${keyType}]?: ${value} }`,
      );
    }
    if (parts.length === 0) return '{ readonly [key: string]: unknown }';
    return parts.join(' & ');
  }
}

/** The TypeScript source of manifest.types.ts for a schema, formatted with the repository's Prettier settings. */
export async function manifestTypesSource(schema: Schema): Promise<string> {
  const gen = new Generator(schema);
  const manifest = gen.type(schema, '');
  const out = [
    '// Generated from manifest.schema.json by scripts/manifestTypes.ts: do not edit by hand.',
    '// Edit the schema, then run `npm run gen:manifest-types`.',
    '',
  ];
  for (const [name, type] of gen.named) out.push(`export type ${name} = ${type};`, '');
  out.push(`${doc(schema, '')}export interface Manifest ${manifest}`, '');
  const config = (await resolveConfig(TYPES_PATH)) ?? {};
  return format(out.join('\n'), { ...config, parser: 'typescript' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(
    TYPES_PATH,
    await manifestTypesSource(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema),
  );
  console.log(`wrote ${TYPES_PATH}`);
}
