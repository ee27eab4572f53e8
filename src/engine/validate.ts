/**
 * The rules for what a person hands the engine, in one place, so that the app, the CLI and the
 * library (`Editor.edit`, `EditEngine.edit`, `fromPretrained`) accept and refuse the same input
 * with the same message.
 */
import { EditError } from './errors';

/** Refuses an empty or non-text package source (an empty string would open the current folder). */
export function checkPackageSource(source: unknown, what: string): asserts source is string {
  if (typeof source !== 'string' || source.trim() === '')
    throw new EditError(
      'bad-settings',
      `${what} needs a model package: a folder that holds manifest.json, a file: URL or an http(s) URL; got ${typeof source === 'string' ? JSON.stringify(source) : String(source)}`,
    );
}
