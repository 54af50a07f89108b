// Months cut into parts by a key: the config that asks for it, how many parts a month gets, and what a
// part reads and tests.
import { partsFor, UNKNOWN_BYTES_PER_ROW } from '../../src/build/months';
import { inPart, warehouseResolver } from '../../src/build/model-sql';
import { DEFAULT_PART_MB, splitOf } from '../../src/project/model-config';
import type { LoadedProject } from '../../src/project/load';
import { ProjectError } from '../../src/errors';

describe('months in parts', () => {
  it('reads meta.meterflow.split_by and part_mb, and refuses what cannot be honoured, naming the file', () => {
    const config = (meterflow: Record<string, unknown>) => ({ meta: { meterflow } });
    expect(splitOf(config({ split_by: 'meter_point_id' }), 'build', 'm.sql', 'm')).toEqual({
      column: 'meter_point_id',
      targetMb: DEFAULT_PART_MB,
    });
    expect(splitOf(config({ split_by: 'meter_point_id', part_mb: 64 }), 'build', 'm.sql', 'm')).toEqual({
      column: 'meter_point_id',
      targetMb: 64,
    });
    // part_mb alone (a folder's default, say) splits nothing
    expect(splitOf(config({ part_mb: 64 }), 'writer', 'm.sql', 'm')).toBeUndefined();
    expect(() => splitOf(config({ split_by: 'meter_point_id' }), 'writer', 'm.sql', 'm')).toThrow(
      /m\.sql: 'm' has meta\.meterflow\.split_by, but only a model built a month at a time/,
    );
    expect(() => splitOf(config({ split_by: 'a b' }), 'build', 'm.sql', 'm')).toThrow(ProjectError);
    expect(() => splitOf(config({ split_by: 'k', part_mb: 0 }), 'build', 'm.sql', 'm')).toThrow(/part_mb of 'm' must be a positive number/);
  });

  it('cuts a month into as many parts as keep each under the target size, at least one', () => {
    const mb = 1024 * 1024;
    expect(partsFor(0, UNKNOWN_BYTES_PER_ROW, 256)).toBe(1);
    expect(partsFor((256 * mb) / 32, 32, 256)).toBe(1);
    expect(partsFor((256 * mb) / 32 + 1, 32, 256)).toBe(2);
    // a million meters' month of the master: 1.49 G rows at ~20 bytes a row
    expect(partsFor(1_000_000 * 1488, 20, 256)).toBe(111);
  });

  it('reads, for a part, only the rows of refs split by the same column, and whole the others', () => {
    const project = {
      plan: {
        models: [
          { name: 'readings', eventTime: 'ts', split: { column: 'meter', targetMb: 1 } },
          { name: 'meters', split: undefined },
          { name: 'other_split', eventTime: 'ts', split: { column: 'region', targetMb: 1 } },
        ],
        sources: [],
      },
    } as unknown as LoadedProject;
    const part = { column: 'meter', index: 2, of: 5 };
    const window = { from: '2024-01-01 00:00:00', to: '2024-01-31 23:59:59.999999' };
    const resolver = warehouseResolver(project, { buildId: 'b', models: [] }, { window, windowRefs: [], part });
    expect(inPart(part)).toBe('hash("meter") % 5 = 2');
    expect(resolver.ref('readings')).toContain(`where ${'"ts" between'}`);
    expect(resolver.ref('readings')).toContain('and hash("meter") % 5 = 2');
    expect(resolver.ref('meters')).toBe('"main"."meters"');
    expect(resolver.ref('other_split')).not.toContain('hash(');
  });
});
