/** Errors the engine reports to users, each with a stable code and a one-line message. */

export type EditErrorCode =
  | 'empty-instruction'
  | 'image-too-large'
  | 'bad-image'
  | 'bad-settings'
  | 'bad-manifest'
  | 'checksum-mismatch'
  | 'graph-output';

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
