/**
 * A loaded graph checked against the manifest's declaration of it: a package whose graphs do
 * not match (swapped files, another grid or resolution) is refused at load, with a message
 * naming the graph, instead of loading as ready and failing every edit with runtime text.
 */
import { EditError } from './errors';
import type { Manifest } from './manifest.types';
import type { GraphName, GraphSignature, TensorSignature } from './ports';

function dims(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** Where a session's tensor differs from the declared one, or null when it matches. */
function tensorMismatch(
  kind: 'input' | 'output',
  declared: Manifest['graphs'][GraphName]['inputs'][number],
  actual: TensorSignature,
): string | null {
  if (actual.dtype !== undefined && actual.dtype !== declared.dtype)
    return `${kind} '${declared.name}' is ${actual.dtype}, the manifest says ${declared.dtype}`;
  if (actual.shape === undefined) return null;
  const a = actual.shape;
  const d = declared.shape;
  // A named (free) dimension on either side matches any size; fixed sizes must agree.
  const same =
    a.length === d.length &&
    a.every((x, i) => typeof x !== 'number' || typeof d[i] !== 'number' || x === d[i]);
  return same ? null : `${kind} '${declared.name}' has shape ${dims(a)}, the manifest says ${dims(d)}`;
}

function listMismatch(
  kind: 'input' | 'output',
  declared: Manifest['graphs'][GraphName]['inputs'],
  actual: readonly TensorSignature[],
): string | null {
  const byName = new Map(actual.map((t) => [t.name, t]));
  for (const t of declared) {
    const got = byName.get(t.name);
    if (!got) return `${kind} '${t.name}' is missing`;
    const why = tensorMismatch(kind, t, got);
    if (why) return why;
  }
  const extra = actual.find((t) => !declared.some((d) => d.name === t.name));
  return extra ? `it has an ${kind} '${extra.name}' the manifest does not declare` : null;
}

/**
 * Throws EditError('bad-manifest') when the loaded graph's inputs or outputs differ from the
 * manifest's `graphs` entry (names always; dtypes and shapes where the runtime reports them).
 */
export function checkGraphSignature(graph: GraphName, manifest: Manifest, actual: GraphSignature): void {
  const declared = manifest.graphs[graph];
  const why =
    listMismatch('input', declared.inputs, actual.inputs) ??
    listMismatch('output', declared.outputs, actual.outputs);
  if (why)
    throw new EditError(
      'bad-manifest',
      `model graph ${graph} does not match its manifest: ${why}. The package is damaged or its files are mixed up; download it again.`,
    );
}
