/** Errors the engine reports to users, each with a stable code and a one-line message. */

/** Every code an EditError carries, with what it means (the API report lists them). */
export const EDIT_ERROR_CODES = {
  'empty-instruction': 'the instruction is missing, not text, empty, or only invisible characters',
  'image-too-large': 'the image is over MAX_INPUT_PIXELS',
  'bad-image': 'the image is not RGBA bytes (Uint8Array or Uint8ClampedArray) of its whole-number size',
  'bad-settings':
    'an edit setting, the mask, the query words, a callback, the options or the package source is out of range or of the wrong kind',
  'bad-manifest':
    'the model package is missing a file, or its manifest fails the schema or a cross-field check',
  'checksum-mismatch': "a model file's size or sha256 differs from the manifest's",
  'graph-output': "a graph's output has another type or shape than the manifest declares",
} as const;

export type EditErrorCode = keyof typeof EDIT_ERROR_CODES;

export class EditError extends Error {
  constructor(
    readonly code: EditErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EditError';
  }
}

/** Largest input the engine accepts: 50 megapixels (the composite works at full size). */
export const MAX_INPUT_PIXELS = 50_000_000;

/**
 * The one message for an input over MAX_INPUT_PIXELS (the engine, the app and the CLI all say
 * it), or null when the size is within the limit. `what` names the input: "the image",
 * "This image", a file name.
 */
export function tooLargeMessage(width: number, height: number, what = 'the image'): string | null {
  if (width * height <= MAX_INPUT_PIXELS) return null;
  const mp = (n: number) => Number((n / 1e6).toFixed(1));
  return `${what} is ${width}×${height} (${mp(width * height)} megapixels); the limit is ${mp(MAX_INPUT_PIXELS)} megapixels — scale it down and try again`;
}
