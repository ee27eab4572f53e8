/**
 * The engine package's API report: every name each entry exports (`index.ts`, and the node and
 * web runtime entries, which re-export the main entry and add their own names), with its type as
 * the compiler sees it (functions' signatures, classes' public members, interfaces' properties). Checked in as
 * `api-report.md`; a unit test rebuilds it and fails on any difference, so a change to the public
 * surface is a visible diff. `npm run api:report` rewrites the file after an intended change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ENGINE = fileURLToPath(new URL('..', import.meta.url));
export const REPORT_PATH = `${ENGINE}api-report.md`;

const printer = ts.createPrinter({ removeComments: true });

/** Report lines longer than this have their types laid out over several lines. */
const WIDTH = 110;

/**
 * A type's text as the report prints it: on one line when `prefix` plus the text fit in WIDTH,
 * else re-printed from a parse of it (object types one member a line), indented under `prefix`.
 */
function layout(prefix: string, text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  if (prefix.length + flat.length <= WIDTH) return prefix + flat;
  const file = ts.createSourceFile(
    't.ts',
    `type T = ${flat};`,
    ts.ScriptTarget.ES2022,
    false,
    ts.ScriptKind.TS,
  );
  const decl = file.statements[0];
  if (!decl || !ts.isTypeAliasDeclaration(decl)) return prefix + flat;
  if (ts.isFunctionTypeNode(decl.type)) return layoutSignature(prefix, flat);
  const indent = ' '.repeat(prefix.length - prefix.trimStart().length);
  if (ts.isUnionTypeNode(decl.type))
    return `${prefix.trimEnd()}\n${decl.type.types.map((t) => `${indent}  | ${printer.printNode(ts.EmitHint.Unspecified, t, file)}`).join('\n')}`;
  const printed = printer
    .printNode(ts.EmitHint.Unspecified, decl.type, file)
    .split('\n')
    .map((line) => line.replace(/^( {4})+/, (lead) => ' '.repeat(lead.length / 2)));
  return prefix + printed.map((line, i) => (i === 0 ? line : indent + line)).join('\n');
}

/** A long signature `(a: A, b: B) => R` with one parameter a line; a short one as it is. */
function layoutSignature(prefix: string, text: string): string {
  if (prefix.length + text.length <= WIDTH) return prefix + text;
  const params = paramList(text);
  const parts: string[] = [];
  let depth = 0;
  let start = 1;
  for (let i = 1; i < params.length - 1; i++) {
    const c = params[i];
    if (c === '(' || c === '<' || c === '{' || c === '[') depth++;
    else if ((c === ')' || c === '>' || c === '}' || c === ']') && params[i - 1] !== '=') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(params.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(params.slice(start, params.length - 1).trim());
  const indent = ' '.repeat(prefix.length - prefix.trimStart().length);
  return `${prefix}(\n${parts.map((p) => `${indent}  ${p},`).join('\n')}\n${indent})${text.slice(params.length)}`;
}

/** A declaration's type parameters as written (`<D, R extends PackageRunner>`), or ''. */
function typeParams(decl: ts.Declaration): string {
  const params = (decl as { typeParameters?: ts.NodeArray<ts.TypeParameterDeclaration> }).typeParameters;
  if (!params?.length) return '';
  const file = decl.getSourceFile();
  return `<${params.map((p) => printer.printNode(ts.EmitHint.Unspecified, p, file).replace(/\s+/g, ' ')).join(', ')}>`;
}

/** A signature's parameter list `(a: A, b: B)` with its parentheses, cut at the matching one. */
function paramList(text: string): string {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '<' || c === '{' || c === '[') depth++;
    else if ((c === ')' || c === '>' || c === '}' || c === ']') && text[i - 1] !== '=') depth--;
    if (depth === 0) return text.slice(0, i + 1);
  }
  return text;
}

const FLAGS =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.WriteArrowStyleSignature;

function members(checker: ts.TypeChecker, type: ts.Type, at: ts.Node): string[] {
  const lines: string[] = [];
  for (const p of checker.getPropertiesOfType(type)) {
    const decl = p.valueDeclaration ?? p.declarations?.[0];
    const mods = decl && ts.canHaveModifiers(decl) ? (ts.getModifiers(decl) ?? []) : [];
    if (
      mods.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)
    )
      continue;
    if (p.name.startsWith('#')) continue;
    const readonly = mods.some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword) ? 'readonly ' : '';
    const optional = p.flags & ts.SymbolFlags.Optional ? '?' : '';
    lines.push(
      layout(
        `  ${readonly}${p.name}${optional}: `,
        checker.typeToString(checker.getTypeOfSymbolAtLocation(p, at), at, FLAGS),
      ),
    );
  }
  return lines;
}

/** The package's entries: import path and source file. */
const ENTRIES = [
  ['@editmgt/engine', 'index.ts'],
  ['@editmgt/engine/node', 'runtime/node/index.ts'],
  ['@editmgt/engine/web', 'runtime/web/index.ts'],
  ['@editmgt/engine/internal', 'internal.ts'],
  ['@editmgt/engine/node/internal', 'runtime/node/internal.ts'],
  ['@editmgt/engine/web/internal', 'runtime/web/internal.ts'],
] as const;

/** The report's text for the engine's current entries. */
export function buildApiReport(): string {
  const files = ENTRIES.map(([, file]) => `${ENGINE}${file}`);
  const program = ts.createProgram([...files, `${ENGINE}abort-signal.d.ts`], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: ['node', '@webgpu/types'],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const out: string[] = [];
  const main = new Set<string>();
  ENTRIES.forEach(([name], i) => {
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(files[i]!)!)!;
    const exports = checker.getExportsOfModule(moduleSymbol).filter((e) => !main.has(e.name));
    if (i === 0) for (const e of exports) main.add(e.name);
    out.push(
      ...(i === 0
        ? []
        : ['```', '', `## ${name}`, '', `Everything \`@editmgt/engine\` exports, and:`, '', '```ts']),
      ...reportExports(checker, exports),
    );
  });
  return [
    '# @editmgt/engine — API report',
    '',
    "Generated by `npm run api:report` from the package's entries; a unit test fails when it differs.",
    '',
    '## @editmgt/engine',
    '',
    '```ts',
    ...out,
    '```',
    '',
  ].join('\n');
}

function reportExports(checker: ts.TypeChecker, symbols: ts.Symbol[]): string[] {
  const out: string[] = [];
  for (const exported of [...symbols].sort((a, b) => a.name.localeCompare(b.name))) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decl = symbol.declarations?.[0];
    if (!decl) continue;
    const name = exported.name;
    if (symbol.flags & ts.SymbolFlags.Class) {
      const instance = checker.getDeclaredTypeOfSymbol(symbol);
      const statics = checker.getTypeOfSymbolAtLocation(symbol, decl);
      const ctor = statics
        .getConstructSignatures()
        .map((s) => layoutSignature('  constructor', paramList(checker.signatureToString(s, decl, FLAGS))));
      const staticMembers = members(checker, statics, decl)
        .filter((l) => !/^\s+prototype:/.test(l))
        .map((l) => l.replace(/^ {2}/, '  static '));
      out.push(
        `class ${name}${typeParams(decl)} {`,
        ...ctor,
        ...staticMembers,
        ...members(checker, instance, decl),
        '}',
      );
    } else if (symbol.flags & ts.SymbolFlags.Interface) {
      out.push(
        `interface ${name}${typeParams(decl)} {`,
        ...members(checker, checker.getDeclaredTypeOfSymbol(symbol), decl),
        '}',
      );
    } else if (symbol.flags & ts.SymbolFlags.TypeAlias) {
      // re-printed from the syntax tree, so the source's formatting does not show in the report
      const text = ts.isTypeAliasDeclaration(decl)
        ? printer.printNode(ts.EmitHint.Unspecified, decl.type, decl.getSourceFile())
        : checker.typeToString(checker.getDeclaredTypeOfSymbol(symbol), decl, FLAGS);
      out.push(layout(`type ${name}${typeParams(decl)} = `, text));
    } else if (symbol.flags & ts.SymbolFlags.Function) {
      for (const s of checker.getTypeOfSymbolAtLocation(symbol, decl).getCallSignatures())
        out.push(layoutSignature(`function ${name}`, checker.signatureToString(s, decl, FLAGS)));
    } else {
      out.push(
        layout(
          `const ${name}: `,
          checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, decl), decl, FLAGS),
        ),
      );
    }
  }
  return out;
}

export function readApiReport(): string {
  return readFileSync(REPORT_PATH, 'utf8');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(REPORT_PATH, buildApiReport());
  console.log(`wrote ${REPORT_PATH}`);
}
