import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GraphRunner } from './ports';
import { makeTensor } from './tensor';
import { TokenTable, withTokenLookup } from './tokenTable';
import type { TokenTableSpec } from './tokenTable';

// the tiny package's tables, written by the exporter (tools/export/editmgt_export/text_table.py)
const TINY = join(__dirname, '../../public/models/tiny-random');
const manifest = JSON.parse(readFileSync(join(TINY, 'manifest.json'), 'utf8')) as {
  dtypes: Record<string, { graphs: { text_llm: { token_table: TokenTableSpec } } }>;
};

function table(dtype: string, reads: [number, number][] = []): TokenTable {
  const spec = manifest.dtypes[dtype]!.graphs.text_llm.token_table;
  const bytes = new Uint8Array(readFileSync(join(TINY, spec.file)));
  return new TokenTable(spec, async (start, end) => (reads.push([start, end]), bytes.slice(start, end)));
}

const ids = Int32Array.from([2, 7, 7, 384, 0, 2]);

describe('token table', () => {
  it('reads each distinct id once, by its byte range, and returns the rows in order', async () => {
    const reads: [number, number][] = [];
    const t = table('fp32', reads);
    const rows = await t.rows(ids);
    const dim = t.spec.dim;
    expect(rows.length).toBe(ids.length * dim);
    expect(reads.map(([s]) => s / t.spec.row_bytes)).toEqual([2, 7, 384, 0]);
    expect(reads.every(([s, e]) => e - s === t.spec.row_bytes)).toBe(true);
    expect(rows.subarray(dim, 2 * dim)).toEqual(rows.subarray(2 * dim, 3 * dim)); // id 7 twice
    expect(rows.subarray(0, dim)).toEqual(rows.subarray(5 * dim, 6 * dim)); // id 2 twice
  });

  it('float16 and int8 rows decode to the float32 rows within their precision', async () => {
    const exact = await table('fp32').rows(ids);
    const half = await table('fp16').rows(ids);
    const int8 = await table('q4').rows(ids);
    const dim = table('fp32').spec.dim;
    for (let r = 0; r < ids.length; r++) {
      const row = exact.subarray(r * dim, (r + 1) * dim);
      const peak = Math.max(...Array.from(row, Math.abs));
      for (let k = 0; k < dim; k++) {
        expect(Math.abs(half[r * dim + k]! - row[k]!)).toBeLessThanOrEqual(
          Math.abs(row[k]!) * 2 ** -10 + 2 ** -24,
        ); // half: 10-bit mantissa
        expect(Math.abs(int8[r * dim + k]! - row[k]!)).toBeLessThanOrEqual((peak / 127) * 0.5 + 1e-7); // half a quantisation step
      }
    }
  });

  it('refuses an id outside the table and a row size that does not fit the format', async () => {
    await expect(table('fp32').rows(Int32Array.from([385]))).rejects.toThrow(
      /token id 385 is outside the token table fp32\/text_llm.table \(385 rows\)/,
    );
    const spec = { ...manifest.dtypes['q4']!.graphs.text_llm.token_table, row_bytes: 32 };
    expect(() => new TokenTable(spec, async () => new Uint8Array())).toThrow(
      /int8 rows of 32 values take 36 bytes, not 32/,
    );
  });

  it('the runner in front of text_llm feeds the rows as inputs_embeds and leaves other graphs alone', async () => {
    const seen: { graph: string; names: string[]; dims?: readonly number[] }[] = [];
    const inner: GraphRunner = {
      run: async (graph, feeds) => (
        seen.push({ graph, names: Object.keys(feeds).sort(), dims: feeds['inputs_embeds']?.dims }),
        {}
      ),
    };
    const t = table('fp32');
    const runner = withTokenLookup(inner, t);
    const mask = makeTensor('int64', new BigInt64Array(6).fill(1n), [1, 6]);
    await runner.run('text_llm', {
      input_ids: makeTensor('int64', BigInt64Array.from(ids, BigInt), [1, 6]),
      attention_mask: mask,
    });
    await runner.run('text_clip', {
      input_ids: makeTensor('int64', BigInt64Array.from(ids, BigInt), [1, 6]),
    });
    expect(seen).toEqual([
      { graph: 'text_llm', names: ['attention_mask', 'inputs_embeds'], dims: [1, 6, t.spec.dim] },
      { graph: 'text_clip', names: ['input_ids'], dims: undefined },
    ]);
  });
});
