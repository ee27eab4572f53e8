/**
 * An AVIF's pixel size from its boxes (ISO-BMFF: ftyp, then meta → iprp → ipco → ispe), read
 * before decoding so that an oversized image is refused without allocating its pixels. Pure.
 */
const u32be = (b: Uint8Array, i: number) =>
  ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const type = (b: Uint8Array, i: number) => String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]);

/** The boxes in b[from, to): [type, start of contents, end]. */
function* boxes(b: Uint8Array, from: number, to: number): Generator<[string, number, number]> {
  let i = from;
  while (i + 8 <= to) {
    let size = u32be(b, i);
    let header = 8;
    if (size === 1) {
      if (i + 16 > to) return;
      // A 64-bit size: only sizes below 2^32 can hold a header we read from the first bytes.
      size = u32be(b, i + 8) * 2 ** 32 + u32be(b, i + 12);
      header = 16;
    } else if (size === 0) size = to - i;
    if (size < header) return;
    yield [type(b, i + 4), i + header, Math.min(i + size, to)];
    i += size;
  }
}

function child(b: Uint8Array, from: number, to: number, name: string): [number, number] | null {
  for (const [t, start, end] of boxes(b, from, to)) if (t === name) return [start, end];
  return null;
}

/**
 * The largest image spatial extent ("ispe") the file declares: the primary image's, or a grid's
 * (its tiles are smaller), so the size check errs on the safe side. Null when the boxes are not in
 * the bytes given.
 */
export function readAvifSize(head: Uint8Array): { width: number; height: number } | null {
  const meta = child(head, 0, head.length, 'meta');
  if (!meta) return null;
  // meta, like ispe, is a "full box": 4 bytes of version and flags come before its contents.
  const iprp = child(head, meta[0] + 4, meta[1], 'iprp');
  const ipco = iprp && child(head, iprp[0], iprp[1], 'ipco');
  if (!ipco) return null;
  let best: { width: number; height: number } | null = null;
  for (const [t, start, end] of boxes(head, ipco[0], ipco[1])) {
    if (t !== 'ispe' || start + 12 > end) continue;
    const width = u32be(head, start + 4);
    const height = u32be(head, start + 8);
    if (!best || width * height > best.width * best.height) best = { width, height };
  }
  return best;
}
