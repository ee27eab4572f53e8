/**
 * External-data Files as the runtime reads them. The JSPI build takes one tensor's bytes at a time
 * with `file.slice(a, b).stream()`; the JSEP build (WASM, and WebGPU without JSPI) takes the whole
 * file with `file.arrayBuffer()` before it makes the session. Both go through `slice().arrayBuffer()`
 * reads of at most 8 MiB here instead of the browser's Blob stream or whole-Blob read: the Blob
 * stream stalled session creation now and then (docs/fullsize.md, "Watchdog and stalls"), and each
 * read delivered is progress the watchdog hears of.
 */
export const CHUNK = 8 * 2 ** 20;

function rangeStream(blob: Blob, onRange?: () => void): ReadableStream<Uint8Array<ArrayBuffer>> {
  let at = 0;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      if (at >= blob.size) {
        controller.close();
        return;
      }
      const end = Math.min(blob.size, at + CHUNK);
      controller.enqueue(new Uint8Array(await blob.slice(at, end).arrayBuffer()));
      at = end;
      onRange?.();
    },
  });
}

/** All of `blob`, read a chunk at a time into one buffer. */
async function chunkedArrayBuffer(blob: Blob, onRange?: () => void): Promise<ArrayBuffer> {
  const out = new Uint8Array(blob.size);
  for (let at = 0; at < blob.size;) {
    const end = Math.min(blob.size, at + CHUNK);
    const part = new Uint8Array(await blob.slice(at, end).arrayBuffer());
    if (part.byteLength !== end - at)
      throw new Error(
        `the stored file changed while it was read (${at + part.byteLength} of ${blob.size} bytes)`,
      );
    out.set(part, at);
    at = end;
    onRange?.();
  }
  return out.buffer;
}

/**
 * `file` (the same bytes, not copied) whose ranges stream through `rangeStream` and whose whole
 * read goes chunk by chunk; `onRange` hears of each chunk delivered (the watchdog's sign of
 * progress while a session is made).
 */
export function rangeReadBlob(file: Blob, onRange?: () => void): Blob {
  const whole = file.slice(0, file.size, file.type);
  const slice = whole.slice.bind(whole);
  whole.arrayBuffer = () => chunkedArrayBuffer(slice(0, whole.size), onRange);
  whole.slice = (start?: number, end?: number, type?: string) => {
    const part = slice(start, end, type);
    part.stream = () => rangeStream(part, onRange);
    return part;
  };
  return whole;
}

const never = () => new Promise<never>(() => undefined);
const silentStream = () => new ReadableStream<Uint8Array<ArrayBuffer>>({ pull: never });

/**
 * A test fault (`armStall` in ort.ts): `file` whose reads never deliver, whole or by range, as a
 * read that hangs inside the runtime would: the session waiting on it never completes.
 */
export function stalledBlob(file: Blob): Blob {
  const stall = (b: Blob): Blob => {
    const slice = b.slice.bind(b);
    b.arrayBuffer = never;
    b.bytes = never;
    b.text = never;
    b.stream = silentStream;
    b.slice = (start?: number, end?: number, type?: string) => stall(slice(start, end, type));
    return b;
  };
  return stall(file.slice(0, file.size, file.type));
}
