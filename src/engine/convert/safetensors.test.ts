/**
 * safetensors headers and tensor reads over an in-memory ByteSource: values in F32, F16 and BF16
 * read back as the same float32 bits; row ranges read only their rows' bytes; every kind of bad
 * file is refused with a message naming the file and the tensor.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointError, memorySource } from './byteSource';
import type { ByteSource } from './byteSource';
import { readSafetensorsHeader, readTensorBytes, readTensorFloat32, readTensorRows } from './safetensors';
import { bf16Bytes, f16Bytes, f32Bytes, writeSafetensors } from './testing/safetensorsWriter';

/** values every float dtype holds exactly (small integers and halves, a subnormal fp16 for F16/F32) */
const VALUES = [0, -0, 1, -2, 0.5, 3.75, -1024, 96, Infinity, -Infinity];

async function file(bytes: Uint8Array, name = 'model.safetensors'): Promise<ByteSource> {
  return memorySource('ckpt', { [name]: bytes }).open(name);
}

/** a ByteSource that records each range asked for */
function recording(inner: ByteSource): ByteSource & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    name: inner.name,
    size: inner.size,
    reads,
    read: (a, b, s) => (reads.push([a, b]), inner.read(a, b, s)),
  };
}

async function refusal(bytes: Uint8Array): Promise<string> {
  const err = await readSafetensorsHeader(await file(bytes)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CheckpointError);
  return (err as Error).message;
}

const header = (entries: Record<string, unknown>) => JSON.stringify(entries);

describe('safetensors', () => {
  it('F32, F16 and BF16 tensors read back as the same float32 bits', async () => {
    const bytes = writeSafetensors([
      { name: 'a.f32', dtype: 'F32', shape: [2, 5], data: f32Bytes(VALUES) },
      { name: 'a.f16', dtype: 'F16', shape: [2, 5], data: f16Bytes(VALUES) },
      { name: 'a.bf16', dtype: 'BF16', shape: [10], data: bf16Bytes(VALUES) },
    ]);
    const st = await readSafetensorsHeader(await file(bytes));
    expect([...st.tensors.keys()]).toEqual(['a.f32', 'a.f16', 'a.bf16']);
    expect(st.metadata).toEqual({ format: 'pt' });
    const want = new Uint32Array(Float32Array.from(VALUES).buffer);
    for (const name of ['a.f32', 'a.f16', 'a.bf16']) {
      const got = await readTensorFloat32(st, name);
      expect(Array.from(new Uint32Array(got.buffer)), name).toEqual(Array.from(want));
    }
  });

  it('F16 subnormals and NaN survive', async () => {
    const bits = [0x0001, 0x03ff, 0x8001, 0x7e01, 0xfc00];
    const bytes = writeSafetensors([
      { name: 'h', dtype: 'F16', shape: [5], data: new Uint8Array(Uint16Array.from(bits).buffer) },
    ]);
    const got = await readTensorFloat32(await readSafetensorsHeader(await file(bytes)), 'h');
    expect(got[0]).toBe(2 ** -24);
    expect(got[1]).toBe(1023 * 2 ** -24);
    expect(got[2]).toBe(-(2 ** -24));
    expect(new Uint32Array(got.buffer)[3]).toBe(0x7fc02000);
    expect(got[4]).toBe(-Infinity);
  });

  it('a row range reads only those rows, in every float dtype', async () => {
    const values = Array.from({ length: 6 * 4 }, (_, i) => i - 7.5);
    const bytes = writeSafetensors([
      { name: 'pad', dtype: 'I64', shape: [3], data: new Uint8Array(24) },
      { name: 'w32', dtype: 'F32', shape: [6, 4], data: f32Bytes(values) },
      { name: 'w16', dtype: 'F16', shape: [6, 4], data: f16Bytes(values) },
      { name: 'wbf', dtype: 'BF16', shape: [6, 2, 2], data: bf16Bytes(values) },
    ]);
    const src = recording(await file(bytes));
    const st = await readSafetensorsHeader(src);
    for (const [name, itemBytes] of [
      ['w32', 4],
      ['w16', 2],
      ['wbf', 2],
    ] as const) {
      src.reads.length = 0;
      const rows = await readTensorRows(st, name, 2, 5);
      expect(Array.from(rows), name).toEqual(values.slice(8, 20));
      expect(src.reads, name).toEqual([
        [st.tensors.get(name)!.begin + 2 * 4 * itemBytes, st.tensors.get(name)!.begin + 5 * 4 * itemBytes],
      ]);
    }
    expect(Array.from(await readTensorRows(st, 'w32', 3, 3))).toEqual([]);
    await expect(readTensorRows(st, 'w32', 4, 7)).rejects.toThrow(
      /rows \[4, 7\) are outside tensor 'w32' with 6 rows/,
    );
  });

  it('the header takes two exact reads (its length, then itself); no tensor byte is read with it', async () => {
    const src = recording(
      await file(writeSafetensors([{ name: 'w', dtype: 'F32', shape: [4], data: f32Bytes([1, 2, 3, 4]) }])),
    );
    const st = await readSafetensorsHeader(src);
    expect(src.reads).toEqual([
      [0, 8],
      [8, st.tensors.get('w')!.begin],
    ]);
  });

  it('other dtypes are refused as float32, naming the file and tensor; their bytes can still be read', async () => {
    const bytes = writeSafetensors([
      { name: 'text_model.embeddings.position_ids', dtype: 'I64', shape: [1, 2], data: new Uint8Array(16) },
    ]);
    const st = await readSafetensorsHeader(await file(bytes));
    await expect(readTensorFloat32(st, 'text_model.embeddings.position_ids')).rejects.toThrow(
      "ckpt/model.safetensors: tensor 'text_model.embeddings.position_ids' is I64; only F32, F16, BF16 tensors are read as float32",
    );
    expect((await readTensorBytes(st, 'text_model.embeddings.position_ids')).byteLength).toBe(16);
    await expect(readTensorFloat32(st, 'nope')).rejects.toThrow(
      "ckpt/model.safetensors has no tensor 'nope'",
    );
  });

  it('a truncated file names the tensor that runs past its end', async () => {
    const good = writeSafetensors([
      { name: 'a', dtype: 'F32', shape: [4], data: f32Bytes([1, 2, 3, 4]) },
      { name: 'b', dtype: 'F32', shape: [4], data: f32Bytes([1, 2, 3, 4]) },
    ]);
    expect(await refusal(good.subarray(0, good.byteLength - 3))).toMatch(
      /^ckpt\/model\.safetensors: tensor 'b' ends at data byte 32, but the file holds only 29 bytes of tensor data \(truncated\?\)$/,
    );
    expect(await refusal(good.subarray(0, 5))).toMatch(
      /model\.safetensors: 5 bytes is too short for a safetensors file/,
    );
  });

  it('a header larger than the file, or absurdly large, is refused', async () => {
    const good = writeSafetensors([{ name: 'a', dtype: 'F32', shape: [1], data: f32Bytes([1]) }]);
    expect(await refusal(good.subarray(0, 20))).toMatch(
      /the header claims \d+ bytes but the file has only 12 after its length/,
    );
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(await refusal(huge)).toMatch(/the header claims 1099511627776 bytes \(at most 100000000\)/);
  });

  it('offsets that disagree with shape × dtype name the tensor', async () => {
    const h = header({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 16] } });
    expect(
      await refusal(
        writeSafetensors([{ name: 'x', dtype: 'U8', shape: [16], data: new Uint8Array(16) }], {}, h),
      ),
    ).toBe(
      "ckpt/model.safetensors: tensor 'w': data_offsets [0, 16] hold 16 bytes, but shape [2,3] × F32 needs 24",
    );
  });

  it('overlapping, gapped or short offsets are refused', async () => {
    const data = [{ name: 'x', dtype: 'U8', shape: [16], data: new Uint8Array(16) }];
    const two = (a: number[], b: number[]) =>
      header({
        a: { dtype: 'F32', shape: [2], data_offsets: a },
        b: { dtype: 'F32', shape: [2], data_offsets: b },
      });
    expect(await refusal(writeSafetensors(data, {}, two([0, 8], [4, 12])))).toMatch(
      /tensors 'a' and 'b' overlap/,
    );
    expect(await refusal(writeSafetensors(data, {}, two([0, 8], [12, 20])))).toMatch(
      /ends at data byte 20, but the file holds only 16/,
    );
    expect(
      await refusal(writeSafetensors(data, {}, two([8, 16], [0, 8]).replace('[8,16]', '[4,12]'))),
    ).toMatch(/tensors 'b' and 'a' overlap/);
    const gap = header({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
    });
    expect(await refusal(writeSafetensors(data, {}, gap))).toMatch(
      /data bytes 8–12 belong to no tensor \(before 'b'\)/,
    );
    const short = header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(await refusal(writeSafetensors(data, {}, short))).toMatch(
      /the tensors end at data byte 8 but the file holds 16 bytes of tensor data \(trailing bytes\)/,
    );
  });

  it('bad headers: not JSON, unknown dtype, bad shape', async () => {
    const data = [{ name: 'x', dtype: 'U8', shape: [4], data: new Uint8Array(4) }];
    expect(await refusal(writeSafetensors(data, {}, '{"a": '))).toMatch(/the header is not valid JSON/);
    expect(
      await refusal(
        writeSafetensors(data, {}, header({ q: { dtype: 'Q4', shape: [4], data_offsets: [0, 4] } })),
      ),
    ).toBe('ckpt/model.safetensors: tensor \'q\' has an unknown dtype "Q4"');
    expect(
      await refusal(
        writeSafetensors(data, {}, header({ q: { dtype: 'U8', shape: [-4], data_offsets: [0, 4] } })),
      ),
    ).toMatch(/tensor 'q' has a bad shape \[-4\]/);
  });
});
