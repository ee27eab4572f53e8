/**
 * External-data Files as the JSPI build reads them: it takes one tensor's bytes at a time with
 * `file.slice(a, b).stream()`. Here each range's stream is our own, filled by
 * `slice().arrayBuffer()` reads of at most 8 MiB, instead of the browser's Blob stream.
 */
const CHUNK = 8 * 2 ** 20;

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

/**
 * `file` (the same bytes, not copied) whose ranges stream through `rangeStream`; `onRange` hears
 * of each range delivered (the watchdog's sign of progress while a session is made).
 */
export function rangeReadBlob(file: Blob, onRange?: () => void): Blob {
  const whole = file.slice(0, file.size, file.type);
  const slice = whole.slice.bind(whole);
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
