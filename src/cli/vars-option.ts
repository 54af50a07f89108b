// `--vars`: a run's dbt vars, as `dbt run --vars` takes them: a YAML mapping (JSON is YAML too). And
// `--target`: the name dbt's target.name gives the project's templates.
import { InvalidArgumentError } from 'commander';
import { parseDbtYaml } from '../project/dbt-yaml';
import { TARGET_NAME_VAR } from '../project/types';
import { RESERVED_VAR_PREFIX, reservedVarOf, TARGET_NAME } from '../contract/validate';

const EXAMPLE = `'{start_date: "2024-01-01", region: north}'`;

/** What a var's value is, for a message: "a list", "the number 3". */
function described(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `the text ${JSON.stringify(value)}` : `the ${typeof value} ${String(value)}`;
}

/** A value a run cannot carry as given (its input is JSON): a number that is no finite one, at a var's path. */
function unsendable(value: unknown, at: string): string | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return `${at} is ${String(value)}, which a run's input (JSON) cannot hold`;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const problem = unsendable(inner, Array.isArray(value) ? `${at}[${key}]` : `${at}.${key}`);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * The value of `--vars`, read as dbt reads it (PyYAML: `yes` is true): a mapping of var names to
 * values, refused otherwise, naming what it got. Names meterflow keeps for itself are refused.
 */
export function varsOption(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseDbtYaml(text);
  } catch (err) {
    throw new InvalidArgumentError(
      `not YAML: ${(err as Error).message.split('\n')[0]?.replace(/:$/, '')}; give a mapping, e.g. ${EXAMPLE}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`give a YAML mapping of var names to values, e.g. ${EXAMPLE}, not ${described(parsed)}`);
  }
  const vars = parsed as Record<string, unknown>;
  const reserved = reservedVarOf(vars);
  if (reserved !== undefined) throw new InvalidArgumentError(`${reserved}: names beginning ${RESERVED_VAR_PREFIX} are meterflow's own`);
  const problem = Object.entries(vars)
    .map(([name, value]) => unsendable(value, name))
    .find((p) => p !== undefined);
  if (problem) throw new InvalidArgumentError(problem);
  return vars;
}

/** The option's help, the same for `run` and `schedule`. */
export const VARS_HELP =
  "dbt vars for the run, a YAML mapping as dbt's --vars takes it, e.g. " +
  `${EXAMPLE}; kept in the run's history and shown in the Web UI: no secrets (a model reads those with env_var())`;

/** `--target`: dbt's target.name for the project's templates, refused unless a plain name. */
export function targetOption(text: string): string {
  if (!TARGET_NAME.test(text)) {
    throw new InvalidArgumentError(`'${text}' is no target name: give letters, digits, '_', '-' or '.' (as a profile's output names are)`);
  }
  return text;
}

/** The option's help, the same for `run`, `schedule` and `docs`. */
export const TARGET_HELP =
  "dbt's target.name for the project's templates, as dbt's --target gives it (profiles.yml is not read: " +
  'the warehouse is --db); a template that reads target.name is refused without it';

/** The vars a project is loaded with where a command names a target: the run's vars and the target's name. */
export function withTarget(vars: Readonly<Record<string, unknown>> | undefined, target: string | undefined): Record<string, unknown> {
  return { ...vars, ...(target !== undefined ? { [TARGET_NAME_VAR]: target } : {}) };
}
