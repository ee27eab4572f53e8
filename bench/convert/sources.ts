/**
 * The checkpoints `npm run convert:bench` converts, where each is found, the templates it needs,
 * the exporter's package it is compared with, and the two converters' command lines.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const EXPORT = join(REPO, 'tools/export');
export const PYTHON = join(EXPORT, '.venv/bin/python');

export const SOURCE_NAMES = ['tiny', 'reduced', 'fullsize', 'shapes'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];
export const CONVERTER_NAMES = ['node', 'python'] as const;
export type ConverterName = (typeof CONVERTER_NAMES)[number];

export interface SourceSpec {
  readonly name: SourceName;
  readonly what: string;
  /** the checkpoint folder (tiny: made by the exporter's builder at run time) */
  readonly checkpoint?: string;
  readonly templates?: string;
  /** the exporter's package for this checkpoint */
  readonly reference?: string;
  readonly dtypes: readonly string[];
  /** the manifest's source.revision names the checkpoint folder's layout (ignored when comparing) */
  readonly ignoreRevision: boolean;
  /**
   * what the model's own packager adds to any converter's package before it is the shipped one
   * (run after the converter, not timed; packages only)
   */
  readonly finish?: { readonly argv: readonly string[]; readonly cwd: string; readonly what: string };
  /** how to get what is missing, for the note under the table */
  readonly howTo: string;
}

export type Paths = Partial<Record<'checkpoint' | 'templates' | 'reference', string>>;

/** The sources with their default places, overridden by `paths[source]`. */
export function sourceSpecs(paths: Partial<Record<SourceName, Paths>> = {}): SourceSpec[] {
  const at = (name: SourceName, key: keyof Paths, fallback?: string) => paths[name]?.[key] ?? fallback;
  const reduced = join(EXPORT, '.cache/browser-fullsize/reduced');
  return [
    {
      name: 'tiny',
      what: 'tiny-random (python -m editmgt_export layouts --only single, seed 0), all five dtypes',
      checkpoint: at('tiny', 'checkpoint'),
      templates: at('tiny', 'templates', join(REPO, 'templates/tiny-random')),
      reference: at('tiny', 'reference', join(REPO, 'public/models/tiny-random')),
      dtypes: ['fp32', 'fp16', 'q4', 'q4f16', 'q8'],
      ignoreRevision: false,
      howTo: 'the exporter venv makes it (npm run export:setup)',
    },
    {
      name: 'reduced',
      what: 'depth-reduced real width (1 double + 1 single block, real VQ-GAN, stand-in text encoders), q4 512 px',
      checkpoint: at('reduced', 'checkpoint', join(reduced, 'checkpoint')),
      templates: at('reduced', 'templates'),
      reference: at('reduced', 'reference', join(reduced, 'package-512-q4')),
      dtypes: ['q4'],
      ignoreRevision: false,
      howTo:
        'npm run fullsize builds the checkpoint and reference; templates: python -m editmgt_export template --source <checkpoint> --dtype q4 --resolution 512 --out DIR, then --templates reduced=DIR',
    },
    {
      name: 'fullsize',
      what: 'full size with the real-width Gemma-2-2B (random weights, published layout), q4 512 px',
      checkpoint: at('fullsize', 'checkpoint'),
      templates: at('fullsize', 'templates'),
      reference: at('fullsize', 'reference'),
      dtypes: ['q4'],
      ignoreRevision: false,
      howTo: 'pass --checkpoint fullsize=DIR --templates fullsize=DIR --reference fullsize=DIR',
    },
    {
      name: 'shapes',
      what: 'the shapes model (trained from scratch), its shipped dtypes',
      checkpoint: at('shapes', 'checkpoint', join(REPO, 'tools/shapes/.work/checkpoint')),
      templates: at('shapes', 'templates', join(REPO, 'templates/shapes')),
      reference: at('shapes', 'reference', join(REPO, 'public/models/shapes')),
      dtypes: shippedDtypes(join(REPO, 'public/models/shapes')),
      ignoreRevision: false,
      howTo:
        'python -m shapesworld.recover writes its checkpoint (tools/shapes/README.md); templates: templates/shapes or --templates shapes=DIR',
    },
  ];
}

function shippedDtypes(pkg: string): string[] {
  try {
    return Object.keys(
      (JSON.parse(readFileSync(join(pkg, 'manifest.json'), 'utf8')) as { dtypes: object }).dtypes,
    );
  } catch {
    return ['q4'];
  }
}

/** Why a source cannot be converted now, or undefined when it can (tiny's checkpoint is made later). */
export function missing(spec: SourceSpec): string | undefined {
  const need: [string, string | undefined, string][] = [
    ['checkpoint', spec.checkpoint, 'model_index.json'],
    ['templates', spec.templates, 'manifest.json'],
    ['reference package', spec.reference, 'manifest.json'],
  ];
  for (const [what, dir, file] of need) {
    if (what === 'checkpoint' && spec.name === 'tiny' && dir === undefined) continue;
    if (dir === undefined) return `no ${what} given`;
    if (!existsSync(join(dir, file)))
      return `no ${what} at ${dir.startsWith(REPO) ? dir.slice(REPO.length + 1) : dir}`;
  }
  if (spec.templates) {
    const incomplete = incompleteTemplates(spec.templates, spec.dtypes);
    if (incomplete) return incomplete;
  }
  return undefined;
}

/** Templates lacking a dtype the source converts, or a graph's map or `.onnx`. */
export function incompleteTemplates(dir: string, dtypes: readonly string[]): string | undefined {
  const graphs = ['text_clip', 'text_llm', 'vq_encode', 'vq_decode', 'transformer_step'];
  for (const d of dtypes)
    for (const g of graphs)
      for (const f of [`${g}.onnx`, `${g}.weights.json`])
        if (!existsSync(join(dir, d, f))) return `templates at ${dir} lack ${d}/${f}`;
  return undefined;
}

/** Every safetensors file of a checkpoint folder (what "read the checkpoint once" reads). */
export function safetensorsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...safetensorsFiles(p));
    else if (e.name.endsWith('.safetensors')) out.push(p);
  }
  return out.sort();
}

export interface ConverterCommand {
  readonly argv: string[];
  readonly cwd: string;
  /** `graph-files`: the converter writes only the graphs' files (no manifest, no tokenizers) */
  readonly writes: 'package' | 'graph-files';
  readonly label: string;
}

/** The package's name and source id, from the reference, so the manifests can match. */
export function referenceIdentity(reference: string): { name: string; sourceId: string } {
  const m = JSON.parse(readFileSync(join(reference, 'manifest.json'), 'utf8')) as {
    name: string;
    source: { id: string };
  };
  return { name: m.name, sourceId: m.source.id };
}

export function converterCommand(
  converter: ConverterName,
  spec: SourceSpec,
  checkpoint: string,
  out: string,
): ConverterCommand {
  // both converters take the same options (docs/convert.md)
  const { name, sourceId } = referenceIdentity(spec.reference!);
  const options = [
    '--source',
    checkpoint,
    '--templates',
    spec.templates!,
    '--dtype',
    spec.dtypes.join(','),
    '--out',
    out,
    '--name',
    name,
    '--source-id',
    sourceId,
    '--json',
  ];
  if (converter === 'node') {
    // what `npm run convert` runs, without npm's own process
    return {
      argv: [join(REPO, 'node_modules/.bin/tsx'), 'cli/convert.ts', ...options],
      cwd: REPO,
      writes: 'package',
      label: 'tsx cli/convert.ts (npm run convert)',
    };
  }
  // the exporter's converter from templates (numpy and onnxruntime, no torch): the whole package
  return {
    argv: [PYTHON, '-m', 'editmgt_export', 'from-templates', ...options],
    cwd: EXPORT,
    writes: 'package',
    label: 'python -m editmgt_export from-templates',
  };
}
