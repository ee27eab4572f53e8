import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manifestTypesSource, SCHEMA_PATH, TYPES_PATH } from './manifestTypes';

describe('manifest.types.ts', () => {
  it('is what the schema generates (run `npm run gen:manifest-types` after editing the schema)', async () => {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
    expect(readFileSync(TYPES_PATH, 'utf8')).toBe(await manifestTypesSource(schema));
  });

  it('follows each schema change: a new key, a key made optional, a changed enum', async () => {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
    const before = await manifestTypesSource(schema);
    schema.properties.config.properties.new_limit = { type: 'integer' };
    schema.properties.defaults.required = schema.properties.defaults.required.filter(
      (k: string) => k !== 'steps',
    );
    schema.$defs.dtype.enum.push('int2');
    const after = await manifestTypesSource(schema);
    expect(after).toContain('readonly new_limit?: number;');
    expect(after).toContain('readonly steps?: number;');
    expect(after).toContain("'q8' | 'int2'");
    expect(before).not.toContain('new_limit');
  });

  it('types external data as a list of chunk paths', () => {
    expect(readFileSync(TYPES_PATH, 'utf8')).toContain('readonly external_data?: readonly string[];');
  });
});
