/**
 * PNG and JPEG structure from the file's own layout, before any decoding: the pixel size and
 * whether the image is complete. Both hosts use it (the browser over Blob slices, node over a
 * Buffer), so a file one accepts the other accepts too.
 *
 * What the formats allow, and so what is accepted: JPEG metadata of any size before the frame
 * header (segments are walked by their lengths, however many there are), and anything after the
 * end marker (motion photos append a video there); PNG chunks after IEND are ignored.
 */

/** Bytes [start, end) of the file (fewer at its end). */
export type ReadBytes = (start: number, end: number) => Promise<Uint8Array>;

export interface ImageStructure {
  width?: number;
  height?: number;
  /** PNG bit depth */
  bitDepth?: number;
  /** A structural reason the file cannot be a complete image. */
  problem?: string;
  /** Where the image ends (its end marker or chunk included); bytes after it are not the image's. */
  imageBytes?: number;
}

const WINDOW = 256 * 1024;

/** Random access with one cached window, so walking small headers costs few reads. */
class ByteWindow {
  private start = 0;
  private bytes: Uint8Array = new Uint8Array(0);
  constructor(
    private readonly read: ReadBytes,
    readonly size: number,
  ) {}

  /** Up to `n` bytes at `pos` (fewer only at the end of the file). */
  async at(pos: number, n: number): Promise<Uint8Array> {
    const end = Math.min(this.size, pos + n);
    if (pos < this.start || end > this.start + this.bytes.length) {
      this.start = pos;
      this.bytes = await this.read(pos, Math.min(this.size, pos + Math.max(n, WINDOW)));
    }
    return this.bytes.subarray(pos - this.start, end - this.start);
  }
}

const u16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u32 = (b: Uint8Array, i: number) =>
  ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

/** Chunks walked by their lengths from the signature to IEND; anything after IEND is ignored. */
export async function readPngStructure(read: ReadBytes, size: number): Promise<ImageStructure> {
  const file = new ByteWindow(read, size);
  const head = await file.at(0, 33);
  if (head.length < 33 || ascii(head, 12, 4) !== 'IHDR') return { problem: 'the PNG header is damaged' };
  const found = { width: u32(head, 16), height: u32(head, 20), bitDepth: head[24] };
  // the usual case, IEND is the last chunk: one small read at the end
  const last = await read(Math.max(0, size - 12), size);
  if (last.length === 12 && ascii(last, 4, 4) === 'IEND') return { ...found, imageBytes: size };
  for (let pos = 8; pos + 8 <= size;) {
    const chunk = await file.at(pos, 8);
    const end = pos + 12 + u32(chunk, 0);
    if (ascii(chunk, 4, 4) === 'IEND' && end <= size) return { ...found, imageBytes: end };
    pos = end;
  }
  return { ...found, problem: 'the PNG is cut off (it has no end chunk)' };
}

const isFrameHeader = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
/** Markers that stand alone, without a length: TEM, RST0–7 (SOI and EOI are handled apart). */
const isStandalone = (m: number) => m === 0x01 || (m >= 0xd0 && m <= 0xd7);

/**
 * Segments walked by their lengths to the frame header (SOFn) and the first scan; then the
 * end-of-image marker is looked for after the scan data, past any further tables and scans of a
 * progressive file. Bytes after the end marker are ignored.
 */
export async function readJpegStructure(read: ReadBytes, size: number): Promise<ImageStructure> {
  const file = new ByteWindow(read, size);
  let pos = 2;
  let width: number | undefined;
  let height: number | undefined;
  let scanStart = -1;
  while (scanStart < 0) {
    const seg = await file.at(pos, 9);
    if (seg.length < 2) break;
    if (seg[0] !== 0xff) return { width, height, problem: 'the JPEG structure is damaged' };
    const marker = seg[1]!;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (isStandalone(marker)) {
      pos += 2;
      continue;
    }
    if (marker === 0xd9 || seg.length < 4) break;
    const length = u16(seg, 2);
    if (isFrameHeader(marker) && seg.length >= 9) {
      height = u16(seg, 5);
      width = u16(seg, 7);
    }
    if (marker === 0xda) scanStart = pos + 2 + length;
    pos += 2 + length;
  }
  if (width === undefined || height === undefined) return { problem: 'the JPEG has no image header' };
  const found = { width, height };
  // the usual case, the file ends with the end marker: one small read
  const last = await read(Math.max(0, size - 2), size);
  if (scanStart + 2 <= size && last[0] === 0xff && last[1] === 0xd9) return { ...found, imageBytes: size };
  const end = await findEndOfImage(file, scanStart);
  return end !== undefined
    ? { ...found, imageBytes: end }
    : { ...found, problem: 'the JPEG is cut off (it ends before the image does)' };
}

/**
 * Scans entropy-coded data from `pos` for the end-of-image marker. In scan data 0xFF is followed
 * by 0x00 (a stuffed byte), a restart marker or another 0xFF; any other marker is a segment with
 * a length (tables and the next scan of a progressive file), stepped over whole.
 * @returns the offset just after the end marker, or undefined when the file ends first
 */
async function findEndOfImage(file: ByteWindow, pos: number): Promise<number | undefined> {
  while (pos + 1 < file.size) {
    const bytes = await file.at(pos, WINDOW);
    let next = pos + bytes.length - 1; // re-read the last byte: it may start a marker
    for (let i = 0; i + 1 < bytes.length; i++) {
      if (bytes[i] !== 0xff) continue;
      const m = bytes[i + 1]!;
      if (m === 0x00 || m === 0xff || isStandalone(m)) continue;
      if (m === 0xd9) return pos + i + 2;
      if (i + 3 >= bytes.length) {
        next = pos + i; // the length straddles the window: read again from the marker
        break;
      }
      next = pos + i + 2 + u16(bytes, i + 2);
      break;
    }
    if (next <= pos) return undefined; // no progress: a damaged length
    pos = next;
  }
  return undefined;
}
