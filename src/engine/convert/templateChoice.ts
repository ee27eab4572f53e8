/**
 * Which of several template folders (the shipped ones, in order) converts a checkpoint: the first
 * whose config the checkpoint's configs match, at the resolution and with every dtype asked for
 * (no resolution asked: the lowest such folders have).
 * When none does, each candidate's reason, the closest first: the one whose config differs from
 * the checkpoint's in the fewest fields, so a checkpoint one field away from a template is told
 * that field (and not, first, the many fields a template of another model differs in).
 */
import type { Checkpoint } from './checkpoint';
import { configMismatches } from './convertPackage';
import { field, plain } from './pyJson';
import type { PyJson } from './pyJson';

export interface TemplateCandidate {
  /** how messages name the folder (a path, `templates/<name>`) */
  readonly name: string;
  /** its manifest.json, parsed (parsePyJson) */
  readonly manifest: PyJson;
}

export interface TemplateWants {
  /** the package's resolution in px; any when not given */
  readonly resolution?: number;
  /** dtypes the package is to have; any when not given */
  readonly dtypes?: readonly string[];
}

/** How one candidate fits. */
export interface TemplateFit {
  readonly name: string;
  /** the config fields the checkpoint contradicts (configMismatches) */
  readonly mismatches: readonly string[];
  /** the templates' resolution */
  readonly resolution: number | null;
  /** the dtypes the templates have */
  readonly dtypes: readonly string[];
  /** the dtypes asked for that they lack */
  readonly missingDtypes: readonly string[];
  /** whether it converts the checkpoint as asked */
  readonly fits: boolean;
  /** why not, in one line (empty when it fits) */
  readonly reason: string;
}

export type TemplateChoice =
  | { readonly chosen: number; readonly fits: readonly TemplateFit[] }
  | {
      readonly chosen: null;
      readonly fits: readonly TemplateFit[];
      /** the candidate closest to fitting; null when there are none */
      readonly closest: TemplateFit | null;
      /** the reasons, one line per candidate, the closest first and named so */
      readonly reasons: string;
    };

export function templateFit(
  ckpt: Checkpoint,
  candidate: TemplateCandidate,
  wants: TemplateWants,
): TemplateFit {
  const config = field(candidate.manifest, 'config');
  const mismatches = configMismatches(ckpt, config, candidate.name);
  const res = plain(field(config, 'resolution') ?? null);
  const resolution = typeof res === 'number' ? res : null;
  const entries = field(candidate.manifest, 'dtypes');
  const dtypes = entries instanceof Map ? [...entries.keys()] : [];
  const missingDtypes = [...new Set(wants.dtypes ?? [])].filter((d) => !dtypes.includes(d));
  const wrongResolution = wants.resolution !== undefined && resolution !== wants.resolution;
  let reason = '';
  if (mismatches.length > 0)
    reason =
      mismatches.length === 1
        ? mismatches[0]!
        : `${mismatches[0]!} (and ${mismatches.length - 1} more config field${mismatches.length > 2 ? 's' : ''})`;
  else if (wrongResolution)
    reason = `the templates (${candidate.name}) are made for ${String(resolution)} px, not ${wants.resolution!} px`;
  else if (missingDtypes.length > 0)
    reason = `the templates (${candidate.name}) have ${dtypes.join(', ') || 'no dtype'} only, not ${missingDtypes.join(', ')}`;
  return {
    name: candidate.name,
    mismatches,
    resolution,
    dtypes,
    missingDtypes,
    fits: reason === '',
    reason,
  };
}

/** Lower resolutions first; a template with none given last. */
export const resolutionOrder = (f: TemplateFit): number => f.resolution ?? Infinity;

/**
 * How far a candidate is from fitting: config fields first, then resolution, then dtypes; between
 * equals, the lower resolution (the one chosen were it to fit).
 */
function distance(f: TemplateFit, wants: TemplateWants): [number, number, number, number] {
  const wrongResolution = wants.resolution !== undefined && f.resolution !== wants.resolution ? 1 : 0;
  return [f.mismatches.length, wrongResolution, f.missingDtypes.length, resolutionOrder(f)];
}

/**
 * The candidate that fits (with no resolution asked, the one of the lowest resolution among those
 * that fit, the first of them in order: one config's templates at 512 and 1024 px give 512 px, the
 * resolution the editor runs), or each one's reason with the closest first.
 */
export function chooseTemplates(
  ckpt: Checkpoint,
  candidates: readonly TemplateCandidate[],
  wants: TemplateWants = {},
): TemplateChoice {
  const fits = candidates.map((c) => templateFit(ckpt, c, wants));
  let chosen = -1;
  fits.forEach((f, i) => {
    if (f.fits && (chosen < 0 || resolutionOrder(f) < resolutionOrder(fits[chosen]!))) chosen = i;
  });
  if (chosen >= 0) return { chosen, fits };
  let closest: TemplateFit | null = null;
  for (const f of fits) {
    if (!closest) {
      closest = f;
      continue;
    }
    const [a, b] = [distance(f, wants), distance(closest, wants)];
    const i = a.findIndex((v, k) => v !== b[k]);
    if (i >= 0 && a[i]! < b[i]!) closest = f;
  }
  const lines = closest ? [`closest: ${closest.reason}`] : [];
  for (const f of fits) if (f !== closest) lines.push(f.reason);
  return { chosen: null, fits, closest, reasons: lines.join('\n') };
}
