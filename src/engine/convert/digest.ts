/**
 * SHA-256 of output that is written a block at a time (the manifest's `sha256` of each package
 * file), for either host: hash-wasm's WebAssembly SHA-256, no node API. The state can be saved
 * and resumed, so an interrupted conversion need not re-read what it already hashed.
 */
import { createSHA256 } from 'hash-wasm';

export interface StreamDigest {
  update(bytes: Uint8Array): void;
  /** Bytes hashed so far. */
  readonly length: number;
  /** The hasher's state after the bytes so far; `createStreamDigest(state)` resumes from it. */
  save(): Uint8Array;
  /** Lower-case hex digest of the bytes so far (the digest ends; make a new one to go on). */
  hex(): string;
}

export async function createStreamDigest(state?: {
  bytes: Uint8Array;
  length: number;
}): Promise<StreamDigest> {
  const hasher = await createSHA256();
  hasher.init();
  if (state) hasher.load(state.bytes);
  let length = state?.length ?? 0;
  return {
    update(bytes) {
      hasher.update(bytes);
      length += bytes.length;
    },
    get length() {
      return length;
    },
    save: () => hasher.save(),
    hex: () => hasher.digest('hex'),
  };
}

/** SHA-256 hex of blocks as they come (an iterable or async iterable of byte blocks). */
export async function sha256OfBlocks(
  blocks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<string> {
  const digest = await createStreamDigest();
  for await (const block of blocks) digest.update(block);
  return digest.hex();
}
