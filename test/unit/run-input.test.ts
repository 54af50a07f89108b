// The run's input checked at every door, and the pure parts of a run naming its warehouse and
// project: the derived writer queue, a conninfo without its password, a project's fingerprint.
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildQueueFor, BUILD_QUEUE_NAME, writerQueueFor } from '../../src/contract/queues';
import { pipelineInputProblems } from '../../src/contract/validate';
import { fingerprintProject, projectChanges } from '../../src/project/fingerprint';
import { masked } from '../../src/secrets';
import { classifyFailure } from '../../src/activities/context';

const good = { sourcesUri: '/data/sources', outUri: 's3://bucket/out', warehouse: '/data/warehouse' };

describe("a run's input", () => {
  it('has no problem when it names absolute locations and well-formed fields', () => {
    expect(pipelineInputProblems(good)).toEqual([]);
    expect(
      pipelineInputProblems({
        ...good,
        warehouse: 'postgres:dbname=lake host=db lake=north',
        project: { dir: '/p', hash: '0123456789abcdef', files: {} },
        logicalDate: '2024-01-31T02:00:00Z',
        select: ['tag:daily'],
        fullRefresh: true,
        kind: 'api',
        writerQueue: 'w',
      }),
    ).toEqual([]);
  });

  it('names every bad field at once', () => {
    expect(pipelineInputProblems({})).toEqual(['sourcesUri is required', 'outUri is required']);
    expect(pipelineInputProblems(undefined)).toEqual(["the run's input must be an object (PipelineInput), not nothing"]);
    expect(
      pipelineInputProblems({
        sourcesUri: 'relative/dir',
        outUri: '/data/../../etc/x',
        logicalDate: 'garbage',
        writerQueue: '',
        select: 'not-a-list',
        fullRefresh: 'yes',
        kind: 'whenever',
      }),
    ).toEqual([
      'sourcesUri must be an absolute path or a URI (s3://…), not "relative/dir"',
      `outUri must not climb out of a folder with '..': "/data/../../etc/x"`,
      'select must be a list of selectors, not "not-a-list"',
      'fullRefresh must be true or false, not "yes"',
      'logicalDate must be an ISO 8601 date or time (e.g. 2024-01-31T02:00:00Z), not "garbage"',
      'kind must be manual, scheduled, backfill, sources-landed, api, not "whenever"',
      'writerQueue must be a task queue name (non-empty, no spaces), not ""',
    ]);
  });

  it('refuses an out folder that is the sources folder or inside it, where a later run would read what it writes', () => {
    expect(pipelineInputProblems({ ...good, sourcesUri: '/data/in', outUri: '/data/in/' })).toEqual([
      'outUri must not be the sources folder ("/data/in"): a run writes its reports and results there, which a later run would read as sources: "/data/in/"',
    ]);
    expect(pipelineInputProblems({ ...good, sourcesUri: 's3://b/in', outUri: 's3://b/in/tariff_unit_rates' })[0]).toMatch(
      /^outUri must not be inside the sources folder/,
    );
    expect(pipelineInputProblems({ ...good, sourcesUri: '/data/in', outUri: '/data/inbox' })).toEqual([]);
    expect(pipelineInputProblems({ ...good, sourcesUri: '/data/in/landing', outUri: '/data/in' })).toEqual([]);
  });

  it("takes a YAML selector's name, never beside select or exclude", () => {
    expect(pipelineInputProblems({ ...good, select: undefined, selector: 'nightly' })).toEqual([]);
    expect(pipelineInputProblems({ ...good, selector: 'nightly', exclude: ['x'] })).toEqual([
      'selector cannot be given with select or exclude (dbt would leave them unread)',
    ]);
    expect(pipelineInputProblems({ ...good, select: undefined, selector: ' ' })).toEqual([
      `selector must be the name of a selector in the project's selectors.yml, not " "`,
    ]);
  });

  it('refuses sources and out folders whose path DuckDB would read as a pattern of other files', () => {
    expect(pipelineInputProblems({ ...good, sourcesUri: '/data/landing[2024]', outUri: 's3://b/out/*' })).toEqual([
      'sourcesUri must not hold *, ? or [, which DuckDB reads in a file\'s path as a pattern of other files: "/data/landing[2024]"',
      'outUri must not hold *, ? or [, which DuckDB reads in a file\'s path as a pattern of other files: "s3://b/out/*"',
    ]);
  });

  it('refuses a warehouse folder whose path DuckDB would read as a pattern', () => {
    expect(pipelineInputProblems({ ...good, warehouse: '/data/lake[1]' })).toEqual([
      'warehouse must not hold *, ? or [, which DuckDB reads in the lake\'s paths as a pattern of other files: "/data/lake[1]"',
    ]);
    expect(pipelineInputProblems({ ...good, warehouse: 'postgres:dbname=lake[1]' })).toEqual([]);
  });

  it("refuses an out folder or warehouse inside the project's counted files, and takes one in its hidden or dbt folders", () => {
    const project = { dir: '/p/proj', hash: '0123456789abcdef' };
    expect(pipelineInputProblems({ ...good, project, outUri: '/p/proj/out', warehouse: '/p/proj//' })).toEqual([
      'outUri must not lie inside the project /p/proj, whose every file the run checks is unchanged: "/p/proj/out"',
      'warehouse must not lie inside the project /p/proj, whose every file the run checks is unchanged: "/p/proj//"',
    ]);
    expect(pipelineInputProblems({ ...good, project, outUri: '/p/proj/./models/x' })).toHaveLength(1);
    for (const outUri of ['/p/proj/.meterflow/out', '/p/proj/target/out', '/p/project-out', '/p/out', 's3://b/p/proj/out']) {
      expect(pipelineInputProblems({ ...good, project, outUri })).toEqual([]);
    }
  });

  it('refuses a warehouse that holds a password, in conninfo or URI form, and a relative one', () => {
    for (const warehouse of ['postgres:dbname=lake password=hunter2', 'postgres:postgresql://me:hunter2@db/lake']) {
      expect(pipelineInputProblems({ ...good, warehouse })).toEqual([expect.stringMatching(/^warehouse holds a password/)]);
    }
    expect(pipelineInputProblems({ ...good, warehouse: 'warehouse' })).toEqual([
      expect.stringMatching(/^warehouse must be an absolute folder/),
    ]);
  });
});

describe("a warehouse's writer queue", () => {
  it('is derived from its name: the same for the same warehouse, another for another, readable', () => {
    expect(writerQueueFor('/data/warehouse')).toBe(writerQueueFor('/data/warehouse'));
    expect(writerQueueFor('/data/warehouse')).not.toBe(writerQueueFor('/backup/warehouse'));
    expect(writerQueueFor('/data/warehouse')).toMatch(/^meterflow-writer-warehouse-[0-9a-f]{16}$/);
    expect(writerQueueFor('postgres:dbname=lake host=db lake=north')).toMatch(/^meterflow-writer-north-[0-9a-f]{16}$/);
  });

  it("shares the build queue, which every warehouse's builds name their lake on; a hand-named writer queue keeps its own", () => {
    expect(buildQueueFor(writerQueueFor('/data/warehouse'))).toBe(BUILD_QUEUE_NAME);
    expect(buildQueueFor('writer-test-1')).toBe('writer-test-1-build');
  });
});

describe("a project's fingerprint", () => {
  it('hashes every file but dbt output and hidden files, and says which files changed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'meterflow-fingerprint-'));
    await mkdir(path.join(dir, 'models'));
    await mkdir(path.join(dir, 'target'));
    await writeFile(path.join(dir, 'dbt_project.yml'), 'name: x\n');
    await writeFile(path.join(dir, 'models', 'a.sql'), 'select 1\n');
    await writeFile(path.join(dir, 'target', 'manifest.json'), '{}');
    const before = await fingerprintProject(dir);
    expect(Object.keys(before.files)).toEqual(['dbt_project.yml', 'models/a.sql']);
    await writeFile(path.join(dir, 'target', 'manifest.json'), '{"changed": true}');
    await writeFile(path.join(dir, '.notes'), 'mine');
    expect((await fingerprintProject(dir)).hash).toBe(before.hash);
    await writeFile(path.join(dir, 'models', 'a.sql'), 'select 2\n');
    await writeFile(path.join(dir, 'models', 'b.sql'), 'select 3\n');
    const after = await fingerprintProject(dir);
    expect(after.hash).not.toBe(before.hash);
    expect(projectChanges(before.files, after.files)).toBe('changed models/a.sql; added models/b.sql');
  });
});

describe('masking secrets in messages', () => {
  it('masks a conninfo password, quoted or not, a URI password and each secret given', () => {
    expect(masked('host=db password=s3cr3t dbname=lake')).toBe('host=db password=*** dbname=lake');
    expect(masked("password='two words' host=db")).toBe('password=*** host=db');
    expect(masked('postgresql://ana:s3cr3t@db:5432/lake failed')).toBe('postgresql://ana:***@db:5432/lake failed');
    expect(masked('secret AKIA123 in AKIA123', ['AKIA123', ''])).toBe('secret *** in ***');
  });

  it('masks what an activity throws before it reaches the history', () => {
    const failure = classifyFailure(new Error('cannot attach host=db password=hunter2'), 'seeding') as Error;
    expect(failure.message).toBe('cannot attach host=db password=***');
    expect(failure.message).not.toContain('hunter2');
  });
});
