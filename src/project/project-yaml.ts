// dbt_project.yml's Jinja, rendered as dbt renders it when it reads the file: every string value
// holding `{{ … }}` or `{% … %}`, but hooks and the `vars:` block, with `env_var()` and `var()` (which
// sees no project vars there: the run's own vars, else each var's default), natively (`{{ false }}`
// is the boolean false, as dbt's native rendering gives).
import { ProjectError, RunValueMissingError } from '../errors';
import { renderModel } from './render';

/** What rendering read: the vars (their defaults taken) and environment variables. */
export interface ProjectYamlReads {
  readonly vars: Set<string>;
  readonly env: Set<string>;
}

const RESOURCE_BLOCKS = new Set(['models', 'seeds', 'snapshots', 'tests', 'data_tests']);

/** dbt's DbtProjectYamlRenderer.should_render_keypath: hooks and vars stay as written. */
function rendered(keypath: readonly string[]): boolean {
  const first = keypath[0];
  if (first === undefined) return true;
  if (['on-run-start', 'on-run-end', 'query-comment', 'vars'].includes(first)) return false;
  if (RESOURCE_BLOCKS.has(first)) return !keypath.some((key) => ['pre-hook', 'post-hook'].includes(key.replace(/^[+ ]+/, '')));
  return true;
}

/** A rendered value as dbt's native rendering gives it: Python's literals read back, else the text. */
function nativeValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === 'True') return true;
  if (trimmed === 'False') return false;
  if (trimmed === 'None') return null;
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  return text;
}

function renderString(value: string, reads: ProjectYamlReads, runVars: Readonly<Record<string, unknown>>, file: string): unknown {
  if (!value.includes('{{') && !value.includes('{%')) return value;
  const render = () =>
    renderModel({
      file,
      template: value,
      resolver: {
        ref: () => {
          throw new ProjectError(`${file}: ref() has no value in dbt_project.yml`, file);
        },
        source: () => {
          throw new ProjectError(`${file}: source() has no value in dbt_project.yml`, file);
        },
      },
      // (dbt gives dbt_project.yml a run's --vars only, never the file's own vars)
      vars: runVars,
      self: '',
    });
  let result: ReturnType<typeof renderModel>;
  try {
    result = render();
  } catch (err) {
    const noDefault = /var\('([^']+)'\) is not defined/.exec(err instanceof Error ? err.message : '');
    if (!noDefault) throw err;
    throw new RunValueMissingError(
      `${file}: var('${noDefault[1]}') has no default and the run does not set it (--vars): dbt reads ${file} ` +
        "with a run's vars only, never its own vars:; give the var() a default",
      file,
    );
  }
  for (const name of Object.keys(result.usedVars)) reads.vars.add(name);
  for (const name of Object.keys(result.usedEnv)) reads.env.add(name);
  return nativeValue(result.sql);
}

function renderNode(
  value: unknown,
  keypath: readonly string[],
  reads: ProjectYamlReads,
  runVars: Readonly<Record<string, unknown>>,
  file: string,
): unknown {
  if (!rendered(keypath)) return value;
  if (typeof value === 'string') return renderString(value, reads, runVars, file);
  if (Array.isArray(value)) return value.map((item, i) => renderNode(item, [...keypath, String(i)], reads, runVars, file));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderNode(item, [...keypath, key], reads, runVars, file)]));
  }
  return value;
}

/**
 * dbt_project.yml as read, its Jinja rendered with the run's vars (`runVars`; none: each var's
 * default); and the vars and environment variables it read.
 */
export function renderProjectYaml(
  raw: Record<string, unknown>,
  runVars: Readonly<Record<string, unknown>> = {},
  file = 'dbt_project.yml',
): { raw: Record<string, unknown>; reads: ProjectYamlReads } {
  const reads: ProjectYamlReads = { vars: new Set(), env: new Set() };
  return { raw: renderNode(raw, [], reads, runVars, file) as Record<string, unknown>, reads };
}
