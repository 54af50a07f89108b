// The run's input checked at every door: the client before it starts anything, the workflow first
// thing (for callers of `temporal workflow start`). Pure, so that workflow code runs it too.
import type { RunKind } from './run';
import { holdsPassword } from '../secrets';
import { countedInProject } from '../project/skipped-folders';

const RUN_KINDS: readonly RunKind[] = ['manual', 'scheduled', 'backfill', 'sources-landed', 'api'];
/** An ISO 8601 date, or date and time with an optional zone (what `new Date` reads the same everywhere). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** A location a worker on any machine reads the same: an absolute path, or a URI with a scheme. */
const ABSOLUTE_LOCATION = /^(\/|[a-z][a-z0-9+.-]*:\/\/)/i;

type Problem = string | undefined;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function location(name: string, value: unknown, required: boolean): Problem {
  if (value === undefined) return required ? `${name} is required` : undefined;
  if (typeof value !== 'string' || value.trim() === '') return `${name} must be a non-empty string, not ${JSON.stringify(value)}`;
  if (!ABSOLUTE_LOCATION.test(value)) return `${name} must be an absolute path or a URI (s3://…), not ${JSON.stringify(value)}`;
  if (/(^|\/)\.\.(\/|$)/.test(value)) return `${name} must not climb out of a folder with '..': ${JSON.stringify(value)}`;
  if (GLOB_CHARACTER.test(value)) {
    return `${name} must not hold *, ? or [, which DuckDB reads in a file's path as a pattern of other files: ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** What DuckDB's file readers take as a glob in a path: such a path would read other files than its own. */
export const GLOB_CHARACTER = /[*?[]/;

function oneOf(name: string, value: unknown, check: (v: unknown) => boolean, what: string): Problem {
  return value === undefined || check(value) ? undefined : `${name} must be ${what}, not ${JSON.stringify(value)}`;
}

const queueName = (v: unknown) => typeof v === 'string' && /^\S+$/.test(v);
const selectors = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.trim() !== '');

function warehouse(value: unknown): Problem {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') return `warehouse must be a non-empty string, not ${JSON.stringify(value)}`;
  if (!/^(\/|postgres:|sqlite:\/)/.test(value))
    return `warehouse must be an absolute folder or postgres:<conninfo>, not ${JSON.stringify(value)}`;
  if (value.startsWith('/') && GLOB_CHARACTER.test(value)) {
    return `warehouse must not hold *, ? or [, which DuckDB reads in the lake's paths as a pattern of other files: ${JSON.stringify(value)}`;
  }
  if (holdsPassword(value)) {
    return "warehouse holds a password, which would be kept in the run's history: name it without one (workers take it from their --db, PGPASSWORD or a passfile)";
  }
  return undefined;
}

function project(value: unknown): Problem {
  if (value === undefined) return undefined;
  if (!isObject(value) || typeof value.dir !== 'string' || !value.dir.startsWith('/')) {
    return `project must be { dir: <absolute folder>, hash?, files? } (fingerprintProject gives one), not ${JSON.stringify(value)}`;
  }
  return oneOf('project.hash', value.hash, (v) => typeof v === 'string' && /^[0-9a-f]{16,64}$/.test(v), 'a hex content hash');
}

/** A local folder as a prefix of the paths below it, spelled one way (`/a//b/./` is `/a/b/`); '..' is refused apart. */
const folderOf = (value: string): string => `${value}/`.replace(/\/(\.\/)+/g, '/').replace(/\/{2,}/g, '/');

/**
 * A run whose out folder or warehouse lies inside its project (where its fingerprint counts every
 * file) changes the project as it runs: each such run would fail at its end, and every one after.
 */
function insideProject(input: Record<string, unknown>): Problem[] {
  const dir = isObject(input.project) && typeof input.project.dir === 'string' ? input.project.dir : undefined;
  if (dir === undefined) return [];
  const inside = (name: string, value: unknown): Problem => {
    if (typeof value !== 'string' || !value.startsWith('/') || !folderOf(value).startsWith(folderOf(dir))) return undefined;
    if (!countedInProject(folderOf(value).slice(folderOf(dir).length))) return undefined;
    return `${name} must not lie inside the project ${dir}, whose every file the run checks is unchanged: ${JSON.stringify(value)}`;
  };
  return [inside('outUri', input.outUri), inside('warehouse', input.warehouse)];
}

/**
 * The out folder apart from the sources: a run writes its reports and results there, which a later
 * run would find among the sources' files. A hostile probe's
 * `--out` equal to `--sources` was taken without a word.
 */
function outAmongSources(input: Record<string, unknown>): Problem {
  const { outUri, sourcesUri } = input;
  if (typeof outUri !== 'string' || typeof sourcesUri !== 'string') return undefined;
  const out = folderOf(outUri);
  const sources = folderOf(sourcesUri);
  if (!out.startsWith(sources)) return undefined;
  const where = out === sources ? 'the sources folder' : 'inside the sources folder';
  return `outUri must not be ${where} (${JSON.stringify(sourcesUri)}): a run writes its reports and results there, which a later run would read as sources: ${JSON.stringify(outUri)}`;
}

/** A target's name: dbt takes any key of a profile's outputs; these are the ones a shell and a URL carry plainly. */
export const TARGET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Names meterflow gives vars of its own (dbt's run_started_at, a macro's arguments): no run may set one. */
export const RESERVED_VAR_PREFIX = '__meterflow';

/** The first var of `vars` whose name is meterflow's own; undefined when none is. */
export const reservedVarOf = (vars: unknown): string | undefined =>
  isObject(vars) ? Object.keys(vars).find((key) => key.startsWith(RESERVED_VAR_PREFIX)) : undefined;

function reservedVar(vars: unknown): Problem {
  const name = reservedVarOf(vars);
  return name === undefined
    ? undefined
    : `vars must not set ${JSON.stringify(name)}: names beginning ${RESERVED_VAR_PREFIX} are meterflow's own`;
}

/** Every problem of a run's input, each naming its field; none: it may run. */
export function pipelineInputProblems(input: unknown): string[] {
  if (!isObject(input)) return [`the run's input must be an object (PipelineInput), not ${JSON.stringify(input) ?? 'nothing'}`];
  const problems: Problem[] = [
    location('sourcesUri', input.sourcesUri, true),
    location('outUri', input.outUri, true),
    warehouse(input.warehouse),
    project(input.project),
    ...insideProject(input),
    outAmongSources(input),
    oneOf('vars', input.vars, isObject, 'an object of dbt vars'),
    reservedVar(input.vars),
    oneOf('select', input.select, selectors, 'a list of selectors'),
    oneOf('exclude', input.exclude, selectors, 'a list of selectors'),
    oneOf(
      'selector',
      input.selector,
      (v) => typeof v === 'string' && v.trim() !== '',
      "the name of a selector in the project's selectors.yml",
    ),
    oneOf(
      'target',
      input.target,
      (v) => typeof v === 'string' && TARGET_NAME.test(v),
      "a target's name (letters, digits, '_', '-' or '.'), as dbt's --target takes it",
    ),
    input.selector !== undefined && (input.select !== undefined || input.exclude !== undefined)
      ? 'selector cannot be given with select or exclude (dbt would leave them unread)'
      : undefined,
    ...(['fullRefresh', 'force', 'verify', 'sourcesMoved'] as const).map((flag) =>
      oneOf(flag, input[flag], (v) => typeof v === 'boolean', 'true or false'),
    ),
    oneOf(
      'logicalDate',
      input.logicalDate,
      (v) => typeof v === 'string' && ISO_8601.test(v) && !Number.isNaN(new Date(v).getTime()),
      'an ISO 8601 date or time (e.g. 2024-01-31T02:00:00Z)',
    ),
    oneOf('kind', input.kind, (v) => RUN_KINDS.includes(v as RunKind), RUN_KINDS.join(', ')),
    oneOf(
      'notify',
      input.notify,
      (v) => Array.isArray(v) && v.every((target) => notifyTargetProblem(target) === undefined),
      `a list of webhooks, each env:NAME or an http(s) URL with no password and no query (${
        Array.isArray(input.notify) ? input.notify.map(notifyTargetProblem).find((p) => p !== undefined) : 'not a list'
      })`,
    ),
    oneOf('notifyOnSuccess', input.notifyOnSuccess, (v) => typeof v === 'boolean', 'true or false'),
    oneOf(
      'notifyWaitSeconds',
      input.notifyWaitSeconds,
      (v) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 3600,
      'a whole number of seconds, 1 to 3600',
    ),
    ...(['writerQueue', 'analyticsQueue', 'buildQueue'] as const).map((queue) =>
      oneOf(queue, input[queue], queueName, 'a task queue name (non-empty, no spaces)'),
    ),
  ];
  return problems.filter((problem): problem is string => problem !== undefined);
}

/**
 * What is wrong with a notification target, if anything: it is `env:NAME` (the URL in a worker's
 * environment) or an http(s) URL that carries no password and no query string, since it is kept in
 * the run's history.
 */
export function notifyTargetProblem(target: unknown): string | undefined {
  if (typeof target !== 'string') return 'a webhook must be a string';
  if (target.startsWith('env:')) return /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(target) ? undefined : `${target}: env:NAME names a variable`;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return `'${target.slice(0, 40)}' is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${url.protocol} webhooks are not supported (http or https)`;
  if (url.username || url.password || url.search) {
    return `a webhook URL with a password or a query would be kept in the run's history: put it in an environment variable of the analytics workers and name it as env:NAME`;
  }
  return undefined;
}

/** A webhook as history, logs and errors may name it: env:NAME, or the URL's scheme and host alone (its path may be its secret). */
export function webhookLabel(target: string): string {
  if (target.startsWith('env:')) return target;
  const origin = /^(https?:\/\/[^/?#@]+)/.exec(target)?.[1];
  return origin ? `${origin}/…` : 'a webhook';
}

/** One line naming every problem, for the error the client throws and the failure the workflow ends with. */
export function describeInputProblems(problems: readonly string[]): string {
  return `bad pipeline input: ${problems.join('; ')}`;
}
