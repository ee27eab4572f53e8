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
