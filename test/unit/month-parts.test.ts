// Months cut into parts by a key: the config that asks for it, how many parts a month gets, and what a
// part reads and tests.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { hasNullKeys, partsFor, splitBounds, splitKeyType, UNKNOWN_BYTES_PER_ROW } from '../../src/build/months';
import { monthParts } from '../../src/workflows/build-models';
import { deltaName, inliningEphemerals, inPart, inWindow, pendingName, warehouseResolver } from '../../src/build/model-sql';
import { statisticsWithin } from '../../src/build/window-rows';
import { renderModel } from '../../src/project/render';
import { monthWindow } from '../../src/contract/time';
import { DEFAULT_PART_MB, splitOf } from '../../src/project/model-config';
import type { LoadedProject } from '../../src/project/load';
import { ModelBuildError, ProjectError } from '../../src/errors';
import { columnTypesOf } from '../../src/warehouse/data-tests';
import type { ModelNode } from '../../src/project/types';

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
    expect(resolver.ref('readings')).toContain(`where ${inWindow('ts', window)}`);
    expect(resolver.ref('readings')).toContain('and hash("meter") % 5 = 2');
    expect(resolver.ref('meters')).toBe('"main"."meters"');
    expect(resolver.ref('other_split')).not.toContain('hash(');
    // dbt's `.render()`: every event time, the part's rows still of the part
    const rendered = renderModel({
      file: 'm.sql',
      template:
        "select * from {{ ref('readings').render() }} join {{ ref('readings') }} using (meter) where {{ ref('meters') ~ '.x' }} > 0",
      resolver,
      vars: {},
      self: 'm',
    }).sql;
    expect(rendered).toBe(
      `select * from (select * from "main"."readings" where hash("meter") % 5 = 2) join ` +
        `(select * from "main"."readings" where ${inWindow('ts', window)} and hash("meter") % 5 = 2) using (meter) where "main"."meters".x > 0`,
    );
    // through an ephemeral model the project inlines too
    const withEphemeral = {
      ...project,
      plan: { ...project.plan, ephemerals: [{ name: 'recent', file: 'recent.sql' }] },
      templates: new Map([['recent', "select * from {{ ref('readings').render() }} where ts > '2024-01-15'"]]),
    } as unknown as LoadedProject;
    const inlined = inliningEphemerals(withEphemeral, resolver, {});
    expect(renderModel({ file: 'm.sql', template: "select * from {{ ref('recent') }}", resolver: inlined, vars: {}, self: 'm' }).sql).toBe(
      `select * from (select * from (select * from "main"."readings" where hash("meter") % 5 = 2) where ts > '2024-01-15')`,
    );
    // rebuilt over the run's window: its changed rows, or with `.render()` its whole new version
    const rebuilt = warehouseResolver(project, { buildId: 'b', models: ['readings'] }, { window, windowRefs: ['readings'] });
    expect(rebuilt.ref('readings')).toContain(deltaName('readings', 'b'));
    expect(rebuilt.whole?.ref('readings')).toBe(`"main"."${pendingName('readings', 'b')}"`);
  });

  it('cuts parts at the bounds a plan names: the first from nothing, the last to nothing; by hash where it names none', () => {
    expect(monthParts({ months: ['2024-01'], parts: 3, bounds: ['m3', 'm6'] })).toEqual([
      { month: '2024-01', part: { index: 0, of: 3, to: 'm3' } },
      { month: '2024-01', part: { index: 1, of: 3, from: 'm3', to: 'm6' } },
      { month: '2024-01', part: { index: 2, of: 3, from: 'm6' } },
    ]);
    expect(monthParts({ months: ['2024-01', '2024-02'], parts: 2 }).map(({ part }) => part)).toEqual([
      { index: 0, of: 2 },
      { index: 1, of: 2 },
      { index: 0, of: 2 },
      { index: 1, of: 2 },
    ]);
    expect(monthParts({ months: ['2024-01'] })).toEqual([{ month: '2024-01' }]);
    expect(inPart({ column: 'meter', index: 0, of: 3, to: "m'3" })).toBe(`("meter" < 'm''3' or "meter" is null)`);
    expect(inPart({ column: 'meter', index: 1, of: 3, from: 'm3', to: 'm6' })).toBe(`"meter" >= 'm3' and "meter" < 'm6'`);
    expect(inPart({ column: 'meter', index: 2, of: 3, from: 'm6' })).toBe(`"meter" >= 'm6'`);
    // a plan that found no NULL key: the first part is a plain range
    const [first, second] = monthParts({ months: ['2024-01'], parts: 3, bounds: ['m3', 'm6'], nullKeys: false });
    expect([first?.part, second?.part]).toEqual([
      { index: 0, of: 3, to: 'm3', nullKeys: false },
      { index: 1, of: 3, from: 'm3', to: 'm6' },
    ]);
    expect(inPart({ column: 'meter', ...first!.part! })).toBe(`"meter" < 'm3'`);
    // the rows that first part adds: those the model gives a NULL key all the same, with the refs
    // split by the key read as none (the plan found no NULL key in them)
    expect(inPart({ column: 'meter', ...first!.part!, nullsOnly: true })).toBe(`"meter" is null`);
    const nullsProject = {
      plan: { models: [{ name: 'readings', split: { column: 'meter', targetMb: 1 } }], sources: [] },
    } as unknown as LoadedProject;
    const nullsPart = { column: 'meter', ...first!.part!, nullsOnly: true as const };
    expect(
      warehouseResolver(
        nullsProject,
        { buildId: 'b', models: [] },
        { window: monthWindow('2024-01')!, windowRefs: [], part: nullsPart },
      ).ref('readings'),
    ).toBe('(select * from "main"."readings" where false)');
    expect(monthParts({ months: ['2024-01'], parts: 3, bounds: ['m3', 'm6'], nullKeys: true })[0]?.part).toEqual({
      index: 0,
      of: 3,
      to: 'm3',
    });
  });

  it("takes the split key's type from the model's rows, and refuses a ref split by it that holds it in another type", () => {
    const model = { name: 'master', file: 'master/master.sql' } as ModelNode;
    expect(splitKeyType(model, 'meter', 'VARCHAR', new Map([['staging', 'VARCHAR']]))).toBe('VARCHAR');
    expect(splitKeyType(model, 'meter', 'BIGINT', new Map())).toBe('BIGINT');
    expect(() => splitKeyType(model, 'meter', 'VARCHAR', new Map([['staging', 'BIGINT']]))).toThrow(ModelBuildError);
    expect(() => splitKeyType(model, 'meter', 'VARCHAR', new Map([['staging', 'BIGINT']]))).toThrow(
      /master \(master\/master\.sql\): split_by 'meter' is VARCHAR in its rows but BIGINT in 'staging'/,
    );
    expect(() => splitKeyType(model, 'meter', undefined, new Map())).toThrow(/split_by 'meter', but its rows have no column 'meter'/);
  });

  describe('on DuckDB', () => {
    let connection: DuckDBConnection;
    const count = async (sql: string) => Number((await connection.runAndReadAll(sql)).getRows()[0]?.[0]);

    beforeAll(async () => {
      connection = await (await DuckDBInstance.create(':memory:')).connect();
      // 1,000 meters (and some rows with none) over 20 half hours, each reading twice (overlapping files)
      await connection.run(
        "create table readings as select case when i % 997 = 0 then null else 'mpan-' || lpad((i % 1000)::varchar, 4, '0') end as meter, " +
          "timestamp '2024-01-01' + to_minutes((i // 1000)::bigint * 30) as ts, i % 7 as kwh from range(20000) t(i), range(2)",
      );
    });

    afterAll(() => connection.closeSync());

    /** DuckDB's plan of a model's part, as text. */
    const explainPart = async (model: string, part: Parameters<typeof inPart>[0]) =>
      (await connection.runAndReadAll(`explain select * from (${model}) where ${inPart(part)}`))
        .getRows()
        .map((row) => String(row[1]))
        .join('\n');

    it('chooses bounds that give parts of about as many keys, every row in exactly one, NULL keys in the first', async () => {
      const bounds = (await splitBounds(connection, 'meter', [{ sql: 'readings' }], 4, 'VARCHAR')) as string[];
      expect(bounds).toEqual([...bounds].sort());
      expect(bounds).toHaveLength(3);
      const parts = monthParts({ months: ['2024-01'], parts: 4, bounds }).map(({ part }) => ({ column: 'meter', ...part! }));
      const rows = await Promise.all(parts.map((part) => count(`select count(*) from readings where ${inPart(part)}`)));
      expect(rows.reduce((a, b) => a + b, 0)).toBe(await count('select count(*) from readings'));
      const keys = await Promise.all(parts.map((part) => count(`select count(distinct meter) from readings where ${inPart(part)}`)));
      for (const n of keys) expect(n).toBeGreaterThanOrEqual(240);
      expect(await count(`select count(*) from readings where meter is null and ${inPart(parts[0]!)}`)).toBeGreaterThan(0);
      // a few keys: as many bounds as there are, none repeated; no input with the column: none, parts by hash
      expect(await splitBounds(connection, 'meter', [{ sql: "(select 'a' as meter union all select 'b')" }], 8, 'VARCHAR')).toEqual([
        'a',
        'b',
      ]);
      expect(await splitBounds(connection, 'region', [{ sql: 'readings' }], 4, 'VARCHAR')).toBeUndefined();
    });

    it("orders the bounds as the key's type, so that parts of a numeric or dated key never overlap", async () => {
      // keys whose order as text differs from their own: 7 < 75 < 112 as numbers, '112' < '7' < '75' as text
      const keyed = {
        integer: '(select (i % 150)::integer as k from range(3000) t(i))',
        negative: '(select (i % 150 - 75)::bigint as k from range(3000) t(i))',
        double: '(select (i % 150) / 7.0 as k from range(3000) t(i))',
        date: "(select date '1999-12-01' + (i % 150)::integer as k from range(3000) t(i))",
      };
      for (const [type, sql] of Object.entries(keyed)) {
        const keyType = (await columnTypesOf(connection, sql)).get('k') as string;
        const bounds = (await splitBounds(connection, 'k', [{ sql }], 4, keyType)) as string[];
        expect({ type, bounds: bounds.length }).toEqual({ type, bounds: 3 });
        const parts = monthParts({ months: ['2024-01'], parts: 4, bounds }).map(({ part }) => ({ column: 'k', ...part! }));
        const rows = await Promise.all(parts.map((part) => count(`select count(*) from ${sql} where ${inPart(part)}`)));
        // every row in exactly one part, and every part holding some
        expect({ type, rows: rows.reduce((a, b) => a + b, 0) }).toEqual({ type, rows: 3000 });
        for (const n of rows) expect(n).toBeGreaterThan(0);
      }
    });

    it("orders the bounds as the model's rows hold the key, whatever type an input holds it in", async () => {
      // the input's keys are numbers, the model's rows hold them as text: its parts compare text
      const numbers = '(select (i % 150)::integer as k from range(3000) t(i))';
      const asText = '(select k::varchar as k from (select (i % 150)::integer as k from range(3000) t(i)))';
      const bounds = (await splitBounds(connection, 'k', [{ sql: numbers }], 4, 'VARCHAR')) as string[];
      expect(bounds).toEqual([...bounds].sort());
      const parts = monthParts({ months: ['2024-01'], parts: 4, bounds }).map(({ part }) => ({ column: 'k', ...part! }));
      const rows = await Promise.all(parts.map((part) => count(`select count(*) from ${asText} where ${inPart(part)}`)));
      expect(rows.reduce((a, b) => a + b, 0)).toBe(3000);
      // keys the model's type cannot hold give no bound
      expect(await splitBounds(connection, 'meter', [{ sql: 'readings' }], 4, 'INTEGER')).toEqual([]);
    });

    it("puts every event time in exactly one month's window, nanoseconds in a month's last microsecond included", async () => {
      const times =
        "(select unnest(['2023-01-31 23:59:59.9999995'::timestamp_ns, '2023-02-01 00:00:00'::timestamp_ns, " +
        "'2023-01-31 23:59:59.999999'::timestamp_ns, '2023-01-01 00:00:00'::timestamp_ns, '2023-02-28 23:59:59.999999999'::timestamp_ns]) as ts)";
      const months = ['2022-12', '2023-01', '2023-02', '2023-03'];
      const counts = await Promise.all(
        months.map((month) =>
          count(`select count(*) from ${times} where ${inWindow('ts', monthWindow(month) as { from: string; to: string })}`),
        ),
      );
      expect(counts).toEqual([0, 3, 2, 0]);
    });

    it('takes the bounds of the first input with the key that gives them all, or else of the one that gives most', async () => {
      const few = "(select 'a' as meter union all select 'b')";
      const whole = (await splitBounds(connection, 'meter', [{ sql: 'readings' }], 4, 'VARCHAR')) as string[];
      // too few keys in the first input: the next one's bounds
      expect(await splitBounds(connection, 'meter', [{ sql: few }, { sql: 'readings' }], 4, 'VARCHAR')).toEqual(whole);
      // a small input with every bound is enough: the readings are not read
      const keys = '(select distinct meter from readings)';
      expect(await splitBounds(connection, 'meter', [{ sql: keys }, { sql: 'no_such_relation' }], 4, 'VARCHAR')).toEqual(whole);
      // no input gives them all: the most there are
      expect(await splitBounds(connection, 'meter', [{ sql: few }, { sql: "(select 'c' as meter)" }], 4, 'VARCHAR')).toEqual(['a', 'b']);
    });

    it('finds whether any input with the key holds a NULL key, skipping inputs without the column', async () => {
      expect(await hasNullKeys(connection, 'meter', [{ sql: 'readings' }])).toBe(true);
      const keyed = '(select * from readings where meter is not null)';
      expect(await hasNullKeys(connection, 'meter', [{ sql: '(select 1 as other)' }, { sql: keyed }])).toBe(false);
      expect(await hasNullKeys(connection, 'meter', [{ sql: keyed }, { sql: 'readings' }])).toBe(true);
      // an input it cannot describe may hold NULL keys
      expect(await hasNullKeys(connection, 'meter', [{ sql: keyed }, { sql: 'no_such_relation' }])).toBe(true);
    });

    it('carries a first part without NULL keys through a join to the other input, which `or is null` does not', async () => {
      await connection.run(
        "create table meters as select distinct meter, 'r' || (hash(meter) % 3) as region from readings where meter is not null",
      );
      const model = 'select r.meter, r.ts, m.region from readings r join meters m on r.meter = m.meter';
      const plan = (part: Parameters<typeof inPart>[0]) => explainPart(model, part);
      // both scans filtered by the range: the meters' table too, through the join's equality
      const bothScansFiltered = (text: string) => (text.match(/Filters:/g) ?? []).length === 2;
      const part = { column: 'meter', index: 0, of: 4, to: 'mpan-0250' };
      expect(await count(`select count(*) from (${model}) where ${inPart({ ...part, nullKeys: false })}`)).toBe(
        await count(`select count(*) from (${model}) where ${inPart(part)}`),
      );
      expect(bothScansFiltered(await plan({ ...part, nullKeys: false }))).toBe(true);
      expect(bothScansFiltered(await plan(part))).toBe(false);
    });

    it("reaches the scans below a model's aggregation with a part's range, which a hash part does not", async () => {
      const model = 'select meter, ts, max(kwh) as kwh from readings group by meter, ts';
      const plan = (part: Parameters<typeof inPart>[0]) => explainPart(model, part);
      // the plan, top down: a FILTER above the aggregation reads every row; below it, only the part's
      const filterAboveAggregate = (text: string) => /FILTER[\s\S]*HASH_GROUP_BY/.test(text);
      expect(filterAboveAggregate(await plan({ column: 'meter', index: 1, of: 4 }))).toBe(true);
      expect(filterAboveAggregate(await plan({ column: 'meter', index: 1, of: 4, from: 'mpan-0250', to: 'mpan-0500' }))).toBe(false);
    });
  });

  it("passes a month's file on its event time's statistics only when they show every value within the month", () => {
    const march = { from: '2024-03-01 00:00:00', to: '2024-03-31 23:59:59.999999' };
    const within = (min: string | undefined, max: string | undefined, nullCount: number | null = 0) =>
      statisticsWithin({ ...(min ? { min } : {}), ...(max ? { max } : {}), ...(nullCount === null ? {} : { nullCount }) }, march);
    expect(within('2024-03-01 00:00:00', '2024-03-31 23:30:00')).toBe(true);
    expect(within('2024-03-01', '2024-03-31')).toBe(true);
    expect(within('2024-03-01 00:00:00+00', '2024-03-31 23:59:59.999999+00')).toBe(true);
    // outside, NULLs, or not plainly a time: read instead
    expect(within('2024-02-29 23:59:59.999999', '2024-03-31 23:30:00')).toBe(false);
    expect(within('2024-03-01 00:00:00', '2024-04-01 00:00:00')).toBe(false);
    expect(within('2024-03-01 00:00:00', '2024-03-31 23:59:59.9999995')).toBe(false);
    expect(within('2024-03-01 00:00:00', '2024-03-31 23:30:00', 1)).toBe(false);
    expect(within('2024-03-01 00:00:00', '2024-03-31 23:30:00', null)).toBe(false);
    expect(within('2024-03-01 01:00:00+01', '2024-03-31 23:30:00')).toBe(false);
    expect(within('1709251200', '1711927800')).toBe(false);
    expect(within(undefined, '2024-03-31 23:30:00')).toBe(false);
    expect(statisticsWithin(undefined, march)).toBe(false);
  });
});
