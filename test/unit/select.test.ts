// --select and --exclude against dbt's own reading: test/fixtures/selectors is a project with
// nested folders, an ephemeral model, seeds in a subfolder, sources with tags, a snapshot, a group and
// configs; dbt-ls.json holds what dbt-core 1.10.15's `dbt ls` listed for 100 selectors on it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadProject } from '../../src/project/load';
import { selectModels, type SelectionGraph } from '../../src/project/select';
import { fnmatch, globMatches } from '../../src/project/fnmatch';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'selectors');

describe('selecting as dbt selects', () => {
  let graph: SelectionGraph;
  let cases: [string, string, string][];
  beforeAll(async () => {
    graph = (await loadProject(FIXTURE)).selection;
    cases = (JSON.parse(await readFile(path.join(FIXTURE, 'dbt-ls.json'), 'utf8')) as { cases: [string, string, string][] }).cases;
  });

  it('selects what dbt ls lists, for every recorded selector', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    const differing = cases
      .map(([select, exclude, names]) => ({
        select,
        exclude,
        dbt: names,
        meterflow: selectModels(graph, select ? [select] : [], exclude ? [exclude] : [])
          .sort()
          .join(' '),
      }))
      .filter((c) => c.dbt !== c.meterflow);
    expect(differing).toEqual([]);
  });

  it('goes one step at a time through an ephemeral model, as dbt counts depth', () => {
    // orders reads the ephemeral eph, which reads stg_a: one step up from orders reaches eph (nothing to build) and stg_b
    expect(selectModels(graph, ['1+orders']).sort()).toEqual(['orders', 'stg_b']);
    expect(selectModels(graph, ['2+orders']).sort()).toEqual(['orders', 'stg_a', 'stg_b']);
  });

  it('reads a folder along the fqn, from under the model path, and hints at path: when a folder is not there', () => {
    expect(selectModels(graph, ['marts.finance']).sort()).toEqual(['orders', 'payments']);
    expect(() => selectModels(graph, ['finance.*'])).toThrow(
      "selector 'finance.*' matches no model, seed, snapshot or source (as in dbt, a folder is matched along the fqn, which starts under the model path: orders's is sp.marts.finance.orders; select the folder models/marts/finance with path:models/marts/finance)",
    );
  });

  it('refuses what it cannot honour, naming the selector', () => {
    expect(() => selectModels(graph, ['state:modified+'])).toThrow(
      /selector 'state:modified\+' cannot be honoured: .*previous run's manifest/,
    );
    expect(() => selectModels(graph, ['result:error'])).toThrow(/cannot be honoured/);
    expect(() => selectModels(graph, ['test_type:unit'])).toThrow(/does not select tests on their own/);
    expect(() => selectModels(graph, [], ['resource_type:test'])).toThrow(/does not select tests on their own/);
    expect(() => selectModels(graph, ['exposure:weekly'])).toThrow(/does not read exposures/);
    expect(() => selectModels(graph, ['bogus:x'])).toThrow("selector 'bogus:x': 'bogus' is not a valid method name");
    expect(() => selectModels(graph, ['resource_type:table'])).toThrow("'table' is not a resource type");
    expect(() => selectModels(graph, ['@stg_a+'])).toThrow('the "@" prefix and "+" suffix are incompatible');
    expect(() => selectModels(graph, ['source:a.b.c.d'])).toThrow(/sources are selected as source, source.table or package.source.table/);
    expect(() => selectModels(graph, ['path:../models'])).toThrow(/relative to the project folder and stays in it/);
    expect(() => selectModels(graph, ['tag:nothing'])).toThrow("selector 'tag:nothing' matches no model, seed, snapshot or source");
  });
});

describe("Python's fnmatch and pathlib's glob, as dbt matches with them", () => {
  it.each([
    ['stg_a', 'stg_?', true],
    ['stg_a', 'stg_[ab]', true],
    ['stg_c', 'stg_[!ab]', true],
    ['stg_a', 'stg_[!a]', false],
    ['a.b', '*', true],
    ['[x', '[x', true],
    ['a]', '[]]', false],
    [']', '[]]', true],
    ['^', '[^]', true],
    ['Stg', 'stg', false],
  ])('%s against %s: %s', (name, pattern, expected) => {
    expect(fnmatch(name, pattern)).toBe(expected);
  });

  it('globs a path segment by segment, ** any number of folders, a file under a matched folder selected too', () => {
    expect(globMatches('models/**/orders.sql', 'models/marts/finance/orders.sql')).toBe(true);
    expect(globMatches('models/**/orders.sql', 'models/orders.sql')).toBe(true);
    expect(globMatches('models/*/orders.sql', 'models/marts/finance/orders.sql')).toBe(false);
    expect(globMatches('models/marts', 'models/marts/finance/orders.sql')).toBe(true);
    expect(globMatches('models/marts', 'models/marts/finance/orders.sql', false)).toBe(false);
    expect(globMatches('./models/', 'models/top.sql')).toBe(true);
  });
});
