// The report's headline totals of the master: merged from the per-month partial aggregates when they
// were computed from the master's version, else scanned from the master itself.
import type { DuckDBConnection } from '@duckdb/node-api';
import { quotedString, relation } from '../duckdb/sql';
import { MODEL_STATE_TABLE } from '../warehouse/state-schema';
import type { MasterTotals } from './headline';
import { tableKey, type TableName } from '../project/types';

/** A MasterTotals from a row of the totals queries below. */
function masterTotalsOf(row: Record<string, unknown>): MasterTotals {
  return {
    halfHours: Number(row.half_hours),
    meters: Number(row.meters),
    from: String(row.first_half_hour ?? ''),
    to: String(row.last_half_hour ?? ''),
    actualKwh: Number(row.actual_kwh),
    estimatedKwh: Number(row.estimated_kwh),
    meanDeviation: Number(row.mean_deviation),
  };
}

/** The headline's totals read from the master itself: a scan of every half hour. */
export async function totalsOfMaster(connection: DuckDBConnection, master: string): Promise<MasterTotals> {
  const totals = await connection.runAndReadAll(
    // per meter first: count(distinct) over the whole master is one thread, a grouping is not
    `with per_meter as (
       select meter_point_id, count(*) as half_hours, min(settlement_timestamp_utc) as first_half_hour,
              max(settlement_timestamp_utc) as last_half_hour, sum(smart_meter_consumption) as actual_kwh,
              sum(estimated_half_hour_consumption) as estimated_kwh, sum(demand_price_elasticity) as sum_deviation,
              count(demand_price_elasticity) as deviations
       from ${master}
       group by meter_point_id
     )
     select coalesce(sum(half_hours), 0)::double as half_hours, count(meter_point_id)::double as meters,
            strftime(min(first_half_hour), '%Y-%m-%dT%H:%M:%SZ') as first_half_hour,
            strftime(max(last_half_hour), '%Y-%m-%dT%H:%M:%SZ') as last_half_hour,
            coalesce(sum(actual_kwh), 0)::double as actual_kwh,
            coalesce(sum(estimated_kwh), 0)::double as estimated_kwh,
            coalesce(sum(sum_deviation) / nullif(sum(deviations), 0), 0)::double as mean_deviation
     from per_meter`,
  );
  return masterTotalsOf(totals.getRowObjectsJson()[0] as Record<string, unknown>);
}

/** The per-month partial aggregates that hold the headline's totals between them. */
const TOTALS_PARTIALS = ['deviation_histogram_by_month', 'meter_readings_by_month', 'half_hourly_load_profile_by_month'] as const;

/**
 * The headline's totals merged from the per-month partial aggregates (a few thousand rows, not a scan
 * of every half hour), when each was computed from this very version of the master: its recorded
 * input is the master's recorded version. Undefined otherwise (a partial missing from the project, or
 * left behind by a run that selected the master but not it): the master is read instead. `held`: the
 * tables the connection's version holds, by table key (existingKinds); `tableOf`: where a model is.
 */
export async function totalsFromPartials(
  connection: DuckDBConnection,
  masterName: string,
  held: ReadonlyMap<string, unknown>,
  tableOf: (model: string) => TableName,
): Promise<MasterTotals | undefined> {
  if (!TOTALS_PARTIALS.every((name) => held.has(tableKey(tableOf(name))))) return undefined;
  const fresh = await connection.runAndReadAll(
    `select count(*) from ${MODEL_STATE_TABLE} as partial
     inner join ${MODEL_STATE_TABLE} as master on master.model = $master
     where partial.model in (${TOTALS_PARTIALS.map((name) => quotedString(name)).join(', ')})
       and json_extract_string(partial.inputs, $input) = master.version`,
    { master: masterName, input: `$."model:${masterName}"` },
  );
  if (Number(fresh.getRows()[0]?.[0] ?? 0) !== TOTALS_PARTIALS.length) return undefined;
  const table = (name: (typeof TOTALS_PARTIALS)[number]) => {
    const { schema, name: published } = tableOf(name);
    return relation(schema, published);
  };
  const totals = await connection.runAndReadAll(
    `with deviations as (
       select sum(half_hours) as half_hours, sum(sum_deviation) / nullif(sum(deviations), 0) as mean_deviation
       from ${table('deviation_histogram_by_month')}
     ),
     meters as (
       select count(distinct meter_point_id) as meters, min(first_reading) as first_half_hour, max(last_reading) as last_half_hour
       from ${table('meter_readings_by_month')}
     ),
     consumption as (
       select sum(sum_actual_consumption) as actual_kwh, sum(sum_estimated_consumption) as estimated_kwh
       from ${table('half_hourly_load_profile_by_month')}
     )
     select coalesce(half_hours, 0)::double as half_hours, meters::double as meters,
            strftime(first_half_hour, '%Y-%m-%dT%H:%M:%SZ') as first_half_hour,
            strftime(last_half_hour, '%Y-%m-%dT%H:%M:%SZ') as last_half_hour,
            coalesce(actual_kwh, 0)::double as actual_kwh, coalesce(estimated_kwh, 0)::double as estimated_kwh,
            coalesce(mean_deviation, 0)::double as mean_deviation
     from deviations, meters, consumption`,
  );
  return masterTotalsOf(totals.getRowObjectsJson()[0] as Record<string, unknown>);
}
