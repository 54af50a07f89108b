// A failed test's SQL as a person reads it (warehouse/data-tests.ts): where it reads a run's working
// table, which a failed run drops, a first line says so. An operator probe ran the SQL a failed run
// printed and found no such table.
import { shownSql } from '../../src/warehouse/data-tests';

describe("a failed test's SQL", () => {
  it("says that it read the run's new version of a model, or its new rows, which a failed run drops", () => {
    const pending = 'select id from "main"."__meterflow_pending_stg_tariff_unit_rates__01a2538f9c0d4e5f" where id is null';
    expect(shownSql(pending).split('\n')).toEqual([
      '-- "__meterflow_pending_stg_tariff_unit_rates__01a2538f9c0d4e5f" is this run\'s new version of stg_tariff_unit_rates, dropped when the run fails: its failing rows are the samples shown',
      pending,
    ]);
    expect(shownSql('select 1 from "lake"."__meterflow_pending_orders__delta__abc123"')).toMatch(
      /^-- "__meterflow_pending_orders__delta__abc123" is this run's new rows of orders, dropped/,
    );
    // a model named with dbt's double underscore keeps its whole name (a review found it cut at the first)
    expect(shownSql('select 1 from "main"."__meterflow_pending_stg_stripe__payments__01a2538f9c0d4e5f"')).toMatch(
      /is this run's new version of stg_stripe__payments, dropped/,
    );
    // a test on a published table (an analytics result, a seed) is shown as it ran
    expect(shownSql('select id from "main"."orders" where id is null')).toBe('select id from "main"."orders" where id is null');
  });
});
