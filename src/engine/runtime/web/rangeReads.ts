/**
 * External-data Files as the JSPI build reads them: it takes one tensor's bytes at a time with
 * `file.slice(a, b).stream()`. Here each range's stream is our own, filled by
 * `slice().arrayBuffer()` reads of at most 8 MiB, instead of the browser's Blob stream.
 */
const CHUNK = 8 * 2 ** 20;

function rangeStream(blob: Blob): ReadableStream<Uint8Array<ArrayBuffer>> {
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
    },
  });
}

/** `file` (the same bytes, not copied) whose ranges stream through `rangeStream`. */
export function rangeReadBlob(file: Blob): Blob {
  const whole = file.slice(0, file.size, file.type);
  const slice = whole.slice.bind(whole);
  whole.slice = (start?: number, end?: number, type?: string) => {
    const part = slice(start, end, type);
    part.stream = () => rangeStream(part);
    return part;
  };
  return whole;
}
