// Sample data to the data contract (shared DATA.md), generated inside DuckDB so that it is fast
// (millions of readings a second) and deterministic for a seed: every random draw is a hash of the
// seed and the thing it is drawn for, never a random number generator's state.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { quotedString } from '../duckdb/sql';

export interface GenerateOptions {
  readonly outDir: string;
  readonly meters?: number;
  /** First day, YYYY-MM-DD (inclusive). */
  readonly from?: string;
  /** Last day, YYYY-MM-DD (exclusive). */
  readonly to?: string;
  readonly seed?: number;
}

export interface GenerateResult {
  readonly outDir: string;
  readonly meters: number;
  readonly readings: number;
  readonly files: readonly string[];
  readonly seconds: number;
}

export const SOURCE_NAMES = [
  'smart_meter_consumption_q1',
  'smart_meter_consumption_q2',
  'smart_meter_consumption_q3',
  'smart_meter_consumption_q4',
  'meter_register_agreement_configuration_interval',
  'period_profile_coefficients',
  'estimated_annual_consumption_interval',
  'tariff_unit_rates',
] as const;

const GSP_GROUPS = ['_A', '_B', '_C', '_D', '_E', '_F', '_G', '_H', '_J', '_K', '_L', '_M', '_N', '_P'];
/** Price elasticity built into variable-tariff consumption; price_response_variable_tariff should find it. */
export const TRUE_PRICE_ELASTICITY = -0.25;
/** How much earlier than the reporting window configurations, estimates and tariffs start. */
const HISTORY = 'interval 400 day';
/** Readings of the previous quarter that the next quarter's file repeats (the overlap quirk). */
const QUARTER_OVERLAP = 'interval 60 minute';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validate(options: GenerateOptions): Required<GenerateOptions> {
  const meters = options.meters ?? 200;
  const from = options.from ?? '2023-01-01';
  const to = options.to ?? '2024-01-01';
  const seed = options.seed ?? 42;
  if (!Number.isInteger(meters) || meters < 1) throw new Error(`--meters must be a positive whole number, not ${meters}`);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number >= 0, not ${seed}`);
  if (!DATE.test(from) || Number.isNaN(Date.parse(from))) throw new Error(`--from must be YYYY-MM-DD, not ${from}`);
  if (!DATE.test(to) || Number.isNaN(Date.parse(to))) throw new Error(`--to must be YYYY-MM-DD, not ${to}`);
  if (Date.parse(to) <= Date.parse(from)) throw new Error(`--to (${to}) must be after --from (${from})`);
  return { outDir: path.resolve(options.outDir), meters, from, to, seed };
}

/** SQL macros shared by every table, so that readings, coefficients and tariffs agree. */
function macros(seed: number, from: string, to: string): string[] {
  const gspList = `[${GSP_GROUPS.map(quotedString).join(', ')}]`;
  return [
    `create macro rnd(a, b, c) as (hash(${seed}, a, b, c) % 1000000) / 1000000.0`,
    `create macro window_from() as timestamp '${from}'`,
    `create macro window_to() as timestamp '${to}'`,
    `create macro gsp_of(i) as ${gspList}[(hash(${seed}, i, 'gsp') % 14)::integer + 1]`,
    `create macro half_hour_of_day(ts) as hour(ts) * 2 + minute(ts) // 30`,
    // Economy 7 night: 00:30-07:30 UTC, half hours 1-14 of the day
    `create macro is_night(ts) as half_hour_of_day(ts) between 1 and 14`,
    // relative demand in a half hour, by kind of customer; 0 outside the TPR's window
    `create macro demand_shape(profile_class_id, tpr, ts) as
       case
         when tpr = '00210' and not is_night(ts) then 0.0
         when tpr = '00206' and is_night(ts) then 0.0
         when tpr = '00210' then 1.0 + 0.2 * cos(2 * pi() * (dayofyear(ts) - 15) / 365.25)
         when profile_class_id >= 3 then
           (case when isodow(ts) >= 6 then 0.35
                 when half_hour_of_day(ts) between 16 and 35 then 1.3 else 0.35 end)
           * (1 + 0.15 * cos(2 * pi() * (dayofyear(ts) - 15) / 365.25))
         else
           (0.55 + 0.5 * exp(-pow(half_hour_of_day(ts) - 15, 2) / 8.0) + 0.9 * exp(-pow(half_hour_of_day(ts) - 36, 2) / 10.0))
           * (1 + 0.3 * cos(2 * pi() * (dayofyear(ts) - 15) / 365.25))
           * (case when isodow(ts) >= 6 then 1.1 else 1.0 end)
       end`,
    // half-hourly variable tariff: an evening peak, a night trough, a regional offset, noise
    `create macro agile_rate(gsp, ts) as
       greatest(1.0,
         14 + 16 * (half_hour_of_day(ts) between 32 and 37)::integer - 5 * is_night(ts)::integer
         + (hash(${seed}, gsp, 'offset') % 300) / 100.0
         + 8 * rnd(gsp, epoch(ts)::bigint, 'rate'))`,
  ];
}

async function run(connection: DuckDBConnection, statements: string[]): Promise<void> {
  for (const statement of statements) await connection.run(statement);
}

/** Writes one query's rows to a Parquet file in a source's folder; returns how many rows it wrote. */
type CopyToParquet = (source: string, fileName: string, query: string) => Promise<number>;

/** A CopyToParquet into outDir that lists, in `files`, every file it wrote. */
function parquetCopier(connection: DuckDBConnection, outDir: string): { copy: CopyToParquet; files: string[] } {
  const files: string[] = [];
  const copy: CopyToParquet = async (source, fileName, query) => {
    const dir = path.join(outDir, source);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, fileName);
    const result = await connection.runAndReadAll(
      `copy (${query}) to ${quotedString(file)} (format parquet, compression zstd, row_group_size 122880)`,
    );
    files.push(file);
    return Number(result.getRows()[0]?.[0] ?? 0);
  };
  return { copy, files };
}

/** Working tables of the meters and their registers: kinds, quirks, configurations, the half hours of the window. */
function meterTables(meters: number): string[] {
  return [
    // one row a meter: its kind, region, estimates and the quirks it has
    `create table meters as
       with drawn as (
         select
           i,
           printf('%013d', 1012000000000 + i) as meter_point_id,
           gsp_of(i) as gsp_group_id,
           rnd(i, 'kind', 0) as kind_draw,
           rnd(i, 'change', 0) < 0.08 as changes_to_economy7,
           rnd(i, 'revision', 0) < 0.3 as has_eac_revision,
           rnd(i, 'anomaly', 0) < 0.02 as is_anomalous,
           rnd(i, 'eac', 0) as eac_draw
         from range(${meters}) t(i)
       )
       select
         *,
         case when kind_draw < 0.55 then 'standard' when kind_draw < 0.70 then 'agile'
              when kind_draw < 0.90 then 'economy7' else 'business' end as kind,
         window_from() + to_days((30 + (rnd(i, 'change_at', 0) * (date_diff('day', window_from(), window_to()) - 60))::integer)) as change_at,
         window_from() + to_days((rnd(i, 'revision_at', 0) * date_diff('day', window_from(), window_to()))::integer) as revision_at,
         0.85 + 0.3 * rnd(i, 'revision_factor', 0) as revision_factor
       from drawn`,
    // a meter's configurations: kind before and after an optional change to Economy 7
    `create table configurations as
       with spans as (
         select m.*, kind as span_kind, window_from() - ${HISTORY} as span_start,
                case when changes_to_economy7 and kind = 'standard' then change_at end as span_end
         from meters m
         union all
         select m.*, 'economy7', change_at, null from meters m where changes_to_economy7 and kind = 'standard'
       ),
       registers as (
         select *, unnest(case when span_kind = 'economy7' then ['00206', '00210'] else ['00001'] end) as tpr
         from spans
       )
       select
         meter_point_id,
         case tpr when '00210' then '2' else '1' end as register_id,
         span_kind as product_category,
         false as is_export,
         false as is_charged_half_hourly,
         span_kind = 'agile' as is_variable,
         gsp_group_id,
         (case span_kind when 'economy7' then 2 when 'business' then 3 else 1 end)::integer as profile_class_id,
         case span_kind when 'economy7' then '0151' else '0393' end as standard_settlement_configuration_id,
         tpr as time_pattern_regime_id,
         span_start as interval_start,
         span_end as interval_end,
         i, eac_draw, has_eac_revision, revision_at, revision_factor, is_anomalous, span_kind
       from registers`,
    `create table combinations as
       select distinct gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id
       from configurations`,
    `create table half_hours as
       select range as settlement_timestamp_utc from range(window_from(), window_to(), interval 30 minute)`,
  ];
}

/** Working tables of the profiles: coefficients, each register's annual estimate, and what readings need of both. */
function profileTables(): string[] {
  return [
    // coefficients: the demand shape normalised so that a combination sums to 1 over a year
    `create table coefficients as
       with shaped as (
         select c.*, h.settlement_timestamp_utc,
                demand_shape(c.profile_class_id, c.time_pattern_regime_id, h.settlement_timestamp_utc) as weight
         from combinations c cross join half_hours h
       )
       select
         gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id,
         settlement_timestamp_utc,
         -- NOTE: sums over DECIMAL are exact, so parallel summation order cannot change a bit of the result
         weight / sum(weight::decimal(38, 18)) over (partition by gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id)::double
           * (select count(*) from half_hours) / (365.25 * 48) as percentage_of_annual_consumption
       from shaped`,
    // per meter register: its annual consumption, before and after an optional revision
    `create table estimates as
       select
         meter_point_id, time_pattern_regime_id, interval_start, interval_end, has_eac_revision, revision_at, revision_factor, i, is_anomalous,
         case when span_kind = 'business' then 8000 + 10000 * eac_draw
              when time_pattern_regime_id = '00206' then 2200 + 1800 * eac_draw
              when time_pattern_regime_id = '00210' then 1400 + 1200 * eac_draw
              else 1800 + 2700 * eac_draw end as base_eac,
         gsp_group_id, profile_class_id, standard_settlement_configuration_id, is_variable
       from configurations`,
    // the coefficient's normaliser per combination, so readings can compute their coefficient inline
    `create table normalisers as
       select gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id,
              sum(demand_shape(profile_class_id, time_pattern_regime_id, settlement_timestamp_utc)::decimal(38, 18))::double / ((select count(*) from half_hours) / (365.25 * 48)) as normaliser
       from combinations cross join half_hours group by all`,
    `create table registers as
       select e.*, n.normaliser, (select avg(agile_rate(e.gsp_group_id, settlement_timestamp_utc)::decimal(38, 18))::double from half_hours) as mean_rate
       from estimates e join normalisers n using (gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id)`,
  ];
}

/** The four sources that are not readings, in the order they are written: each one file for the whole window. */
function referenceFiles(seed: number): { source: (typeof SOURCE_NAMES)[number]; query: string }[] {
  return [
    {
      source: 'meter_register_agreement_configuration_interval',
      query: `select meter_point_id, register_id, product_category, is_export, is_charged_half_hourly, is_variable, gsp_group_id,
              profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id, interval_start, interval_end
       from configurations order by meter_point_id, interval_start, register_id`,
    },
    {
      source: 'period_profile_coefficients',
      query: `select * from coefficients order by gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id, settlement_timestamp_utc`,
    },
    { source: 'estimated_annual_consumption_interval', query: estimatesQuery() },
    { source: 'tariff_unit_rates', query: tariffsQuery(seed) },
  ];
}

/** Annual consumption per meter register, with a second interval from its revision when it has one. */
function estimatesQuery(): string {
  return `with revisions as (
         select meter_point_id, time_pattern_regime_id,
                greatest(interval_start, window_from() - ${HISTORY}) as effective_from,
                case when has_eac_revision and revision_at > interval_start and (interval_end is null or revision_at < interval_end) then revision_at else interval_end end as effective_to,
                round(base_eac, 1) as estimated_annual_consumption
         from estimates
         union all
         select meter_point_id, time_pattern_regime_id, revision_at, interval_end, round(base_eac * revision_factor, 1)
         from estimates
         where has_eac_revision and revision_at > interval_start and (interval_end is null or revision_at < interval_end)
       )
       select * from revisions order by meter_point_id, time_pattern_regime_id, effective_from`;
}

/** Fixed rates per region and product (revised halfway through the window) and the half-hourly variable rate. */
function tariffsQuery(seed: number): string {
  return `with fixed as (
         select g.gsp_group_id, p.product_category, false as is_variable,
                window_from() - ${HISTORY} as valid_from,
                window_from() + to_days(date_diff('day', window_from(), window_to()) // 2) as valid_to,
                round(p.base + (hash(${seed}, g.gsp_group_id, p.product_category) % 200) / 100.0, 2) as unit_rate_pence_per_kwh
         from (select distinct gsp_group_id from configurations) g
         cross join (values ('standard', 24.5), ('economy7', 21.0), ('business', 22.0)) p(product_category, base)
       ),
       revised as (
         select gsp_group_id, product_category, is_variable, valid_to as valid_from, null::timestamp as valid_to,
                round(unit_rate_pence_per_kwh * 1.04, 2) as unit_rate_pence_per_kwh
         from fixed
       ),
       variable as (
         select g.gsp_group_id, 'agile' as product_category, true as is_variable,
                h.settlement_timestamp_utc as valid_from, h.settlement_timestamp_utc + interval 30 minute as valid_to,
                round(agile_rate(g.gsp_group_id, h.settlement_timestamp_utc), 4) as unit_rate_pence_per_kwh
         from (select distinct gsp_group_id from configurations) g cross join half_hours h
       )
       select * from fixed union all select * from revised union all select * from variable
       order by gsp_group_id, product_category, valid_from`;
}

/** Readings, one file a calendar quarter, each repeating the previous quarter's last hour; returns how many. */
async function writeReadings(connection: DuckDBConnection, copy: CopyToParquet): Promise<number> {
  const quarters = await connection.runAndReadAll(
    `select distinct year(ts)::integer as y, quarter(ts)::integer as q,
              greatest(date_trunc('quarter', ts) - ${QUARTER_OVERLAP}, window_from())::varchar as q_from,
              least(date_trunc('quarter', ts) + interval 3 month, window_to())::varchar as q_to
       from (select range as ts from range(window_from(), window_to(), interval 1 day)) order by y, q`,
  );
  let readings = 0;
  const quarterRows = quarters.getRowObjectsJS();
  // a quarter the window does not reach still gets its (empty) file: every source has a file
  const firstYear = Number(quarterRows[0]?.y);
  for (const q of [1, 2, 3, 4].filter((n) => !quarterRows.some((row) => Number(row.q) === n))) {
    await copy(
      `smart_meter_consumption_q${q}`,
      `smart_meter_consumption_${firstYear}_q${q}.parquet`,
      `select ''::varchar as meter_point_id, window_from() as settlement_timestamp_utc, 0.0::double as smart_meter_consumption where false`,
    );
  }
  for (const row of quarterRows) {
    readings += await copy(
      `smart_meter_consumption_q${row.q}`,
      `smart_meter_consumption_${row.y}_q${row.q}.parquet`,
      readingsQuery(String(row.q_from), String(row.q_to)),
    );
  }
  return readings;
}

/** A quarter's readings from qFrom to qTo: demand shape, noise, anomalies, price response, gaps and nulls. */
function readingsQuery(qFrom: string, qTo: string): string {
  return `with slots as (
           select r.meter_point_id, r.i, r.time_pattern_regime_id, r.profile_class_id, r.is_variable, r.gsp_group_id, r.is_anomalous,
                  r.base_eac, r.normaliser, r.mean_rate, h.ts
           from registers r
           join (select range as ts from range(timestamp '${qFrom}', timestamp '${qTo}', interval 30 minute)) h
             on h.ts >= r.interval_start and (r.interval_end is null or h.ts < r.interval_end)
           where (r.time_pattern_regime_id = '00001')
              or (r.time_pattern_regime_id = '00210' and is_night(h.ts))
              or (r.time_pattern_regime_id = '00206' and not is_night(h.ts))
         ),
         consumption as (
           select
             meter_point_id, ts as settlement_timestamp_utc, i,
             base_eac * demand_shape(profile_class_id, time_pattern_regime_id, ts) / normaliser
               * (0.7 + 0.6 * rnd(i, epoch(ts)::bigint, 'noise'))
               * (case when is_anomalous then 2.5 else 1.0 end)
               * (case when is_variable then pow(agile_rate(gsp_group_id, ts) / mean_rate, ${TRUE_PRICE_ELASTICITY}) else 1.0 end)
               as kwh
           from slots
         )
         select
           meter_point_id,
           settlement_timestamp_utc,
           case when rnd(i, epoch(settlement_timestamp_utc)::bigint, 'null') < 0.0005 then null else round(kwh, 4) end as smart_meter_consumption
         from consumption
         where rnd(i, epoch(settlement_timestamp_utc)::bigint, 'missing') >= 0.01
         order by meter_point_id, settlement_timestamp_utc`;
}

/** Write the eight sources of DATA.md, one folder per source, time-based Parquet files inside. */
export async function generateSampleData(options: GenerateOptions): Promise<GenerateResult> {
  const { outDir, meters, from, to, seed } = validate(options);
  const started = Date.now();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const { copy, files } = parquetCopier(connection, outDir);
  try {
    for (const source of SOURCE_NAMES) await rm(path.join(outDir, source), { recursive: true, force: true });
    await run(connection, macros(seed, from, to));
    await run(connection, [...meterTables(meters), ...profileTables()]);
    for (const { source, query } of referenceFiles(seed)) await copy(source, `${source}_${from}_${to}.parquet`, query);
    const readings = await writeReadings(connection, copy);
    return { outDir, meters, readings, files, seconds: (Date.now() - started) / 1000 };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
