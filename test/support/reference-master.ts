// An independent computation of the master table straight from the source files, written the plain
// way (range joins, GROUP BY), to check meterflow's models against.
import path from 'node:path';
import { queryFile } from './files';

export function referenceMasterSql(sourcesDir: string): string {
  const files = (name: string) => `read_parquet('${path.join(sourcesDir, name, '*.parquet')}')`;
  return `
    with readings as (
      select meter_point_id, settlement_timestamp_utc, max(smart_meter_consumption) as actual
      from (
        select * from ${files('smart_meter_consumption_q1')} union all select * from ${files('smart_meter_consumption_q2')}
        union all select * from ${files('smart_meter_consumption_q3')} union all select * from ${files('smart_meter_consumption_q4')}
      )
      group by meter_point_id, settlement_timestamp_utc
      having max(smart_meter_consumption) is not null
    ),
    candidates as (
      select r.meter_point_id, r.settlement_timestamp_utc, r.actual, c.gsp_group_id, c.profile_class_id,
             c.standard_settlement_configuration_id, c.product_category, c.is_variable, c.is_export, c.is_charged_half_hourly,
             p.percentage_of_annual_consumption as ppc, e.estimated_annual_consumption as eac
      from readings r
      join ${files('meter_register_agreement_configuration_interval')} c
        on c.meter_point_id = r.meter_point_id and r.settlement_timestamp_utc >= c.interval_start
       and (c.interval_end is null or r.settlement_timestamp_utc < c.interval_end)
      join ${files('period_profile_coefficients')} p
        on p.gsp_group_id = c.gsp_group_id and p.profile_class_id = c.profile_class_id
       and p.standard_settlement_configuration_id = c.standard_settlement_configuration_id
       and p.time_pattern_regime_id = c.time_pattern_regime_id and p.settlement_timestamp_utc = r.settlement_timestamp_utc
       and p.percentage_of_annual_consumption > 0
      join ${files('estimated_annual_consumption_interval')} e
        on e.meter_point_id = r.meter_point_id and e.time_pattern_regime_id = c.time_pattern_regime_id
       and r.settlement_timestamp_utc >= e.effective_from and (e.effective_to is null or r.settlement_timestamp_utc < e.effective_to)
    ),
    averaged as (
      select meter_point_id, settlement_timestamp_utc, actual, gsp_group_id, profile_class_id, standard_settlement_configuration_id,
             product_category, is_variable, is_export, is_charged_half_hourly, avg(ppc) as ppc, avg(eac) as eac
      from candidates
      group by all
    )
    select a.meter_point_id, a.settlement_timestamp_utc, a.gsp_group_id, a.profile_class_id, a.standard_settlement_configuration_id,
           a.product_category, a.is_variable, a.is_export, a.is_charged_half_hourly,
           round(a.actual, 9) as actual, round(a.eac * a.ppc, 9) as estimate,
           round((a.actual - a.eac * a.ppc) / (a.eac * a.ppc), 6) as deviation, round(t.unit_rate_pence_per_kwh, 9) as rate
    from averaged a
    left join ${files('tariff_unit_rates')} t
      on t.gsp_group_id = a.gsp_group_id and t.product_category = a.product_category and t.is_variable = a.is_variable
     and a.settlement_timestamp_utc >= t.valid_from and (t.valid_to is null or a.settlement_timestamp_utc < t.valid_to)
    where a.eac * a.ppc > 0`;
}

/** The master table in the same shape as the reference, for an EXCEPT both ways. */
export const MASTER_AS_REFERENCE_SQL = `
  select meter_point_id, settlement_timestamp_utc, gsp_group_id, profile_class_id, standard_settlement_configuration_id,
         product_category, is_variable, is_export, is_charged_half_hourly,
         round(smart_meter_consumption, 9), round(estimated_half_hour_consumption, 9),
         round(demand_price_elasticity, 6), round(unit_rate_pence_per_kwh, 9)
  from main.demand_price_elasticity`;

/** Rows of a warehouse's master table that the independent computation from the source files lacks, and the reverse. */
export async function differencesFromReference(warehousePath: string, sourcesDir: string): Promise<{ missing: number; extra: number }> {
  const reference = referenceMasterSql(sourcesDir);
  const [row] = await queryFile(
    warehousePath,
    `select (select count(*) from ((${reference}) except (${MASTER_AS_REFERENCE_SQL})))::integer as missing,
            (select count(*) from ((${MASTER_AS_REFERENCE_SQL}) except (${reference})))::integer as extra`,
  );
  return { missing: Number(row?.missing), extra: Number(row?.extra) };
}
