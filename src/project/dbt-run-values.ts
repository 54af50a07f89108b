// dbt's values of a run in templates: `run_started_at` (a UTC datetime, printed as Python prints one),
// `invocation_id`, and `modules.datetime`, whose "now" is the run's start. They come from the run's
// vars (every worker renders the same); where a project is only read, placeholders stand in, as at
// dbt's parse.
import { datetimeModule, PyDatetime } from './jinja-datetime';
import { MODULES } from './jinja-modules';
import { INVOCATION_ID_VAR, RUN_STARTED_AT_VAR } from './types';

/** Placeholders where a project is read, not run: dbt's parse has such values too. */
const READ_ONLY_START = '1970-01-01T00:00:00.000Z';
const READ_ONLY_INVOCATION = '00000000-0000-0000-0000-000000000000';

/** A template that reads the clock: its SQL may change with every run. */
// the clock read in Jinja (run_started_at, modules.datetime's now()), or in the SQL: DuckDB's clock and
// random functions give another table on every run, as under dbt, which builds such a model every time
const READS_THE_CLOCK =
  /run_started_at|\.(now|utcnow|today)\s*\(|\b(now|today|random|uuid|gen_random_uuid|get_current_timestamp|get_current_time|transaction_timestamp|statement_timestamp|current_timestamp|current_date|current_time|current_localtimestamp|localtimestamp|localtime)\b/i;

/**
 * The run's values for a template: read from its vars (`used` records them where the template reads
 * the clock or the run's id, so that such a model is rebuilt on every run, as its SQL changes).
 */
export function dbtRunValues(
  vars: Readonly<Record<string, unknown>>,
  template: string,
  used: Record<string, unknown>,
): { run_started_at: PyDatetime; invocation_id: string; modules: Record<string, unknown> } {
  const started = typeof vars[RUN_STARTED_AT_VAR] === 'string' ? (vars[RUN_STARTED_AT_VAR] as string) : READ_ONLY_START;
  const invocation = typeof vars[INVOCATION_ID_VAR] === 'string' ? (vars[INVOCATION_ID_VAR] as string) : READ_ONLY_INVOCATION;
  if (READS_THE_CLOCK.test(template)) used[RUN_STARTED_AT_VAR] = started;
  if (template.includes('invocation_id')) used[INVOCATION_ID_VAR] = invocation;
  const start = new Date(started);
  return {
    run_started_at: new PyDatetime(start, true),
    invocation_id: invocation,
    modules: { ...MODULES, datetime: datetimeModule(start) },
  };
}
