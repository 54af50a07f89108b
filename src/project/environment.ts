// The environment variables a project's models read (env_var), as one machine saw them: a digest of
// each value, never the value, so that every worker of a run can be checked to render the same SQL.
import { createHash } from 'node:crypto';

/** Each variable's digest, or null where it is unset (the model's default, if any, applies). */
export type EnvironmentDigest = Readonly<Record<string, string | null>>;

/** dbt's prefix for secrets: allowed in profiles.yml and packages.yml only, never in a model's SQL. */
export const SECRET_ENV_PREFIX = 'DBT_ENV_SECRET_';

const digestOf = (name: string, value: string) => createHash('sha256').update(`${name}\0${value}`).digest('hex').slice(0, 16);

/** The digest of these variables as `env` holds them, by name (sorted). */
export function environmentDigest(names: Iterable<string>, env: NodeJS.ProcessEnv): EnvironmentDigest {
  const digest: Record<string, string | null> = {};
  for (const name of [...new Set(names)].sort()) {
    const value = env[name];
    digest[name] = value === undefined ? null : digestOf(name, value);
  }
  return digest;
}

/** The variables whose value in `env` differs from the digest (set on one side only, or set otherwise). */
export function environmentDrift(expected: EnvironmentDigest, env: NodeJS.ProcessEnv): string[] {
  const here = environmentDigest(Object.keys(expected), env);
  return Object.keys(expected).filter((name) => here[name] !== expected[name]);
}
