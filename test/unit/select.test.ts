// --select and --exclude against dbt's own reading: test/fixtures/selectors is a project with
// nested folders, an ephemeral model, seeds in a subfolder, sources with tags, a snapshot, a group and
// configs; dbt-ls.json holds what dbt-core 1.10.15's `dbt ls` listed for 100 selectors on it.
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadProject } from '../../src/project/load';
import { selectModels, type SelectionGraph } from '../../src/project/select';
import { fnmatch, globMatches } from '../../src/project/fnmatch';
import { tempDir } from '../support/files';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'selectors');

describe('selecting as dbt selects', () => {
  let graph: SelectionGraph;
  let cases: [string, string, string][];
  let yamlSelectors: Record<string, string>;
  beforeAll(async () => {
    graph = (await loadProject(FIXTURE)).selection;
    const recorded = JSON.parse(await readFile(path.join(FIXTURE, 'dbt-ls.json'), 'utf8')) as {
      cases: [string, string, string][];
      selectors: Record<string, string>;
    };
    ({ cases, selectors: yamlSelectors } = recorded);
  });

  it("selects what dbt ls --selector lists, for every selector of the project's selectors.yml", () => {
    expect(Object.keys(yamlSelectors)).toHaveLength(11);
    for (const [name, names] of Object.entries(yamlSelectors)) {
      expect({ name, names: selectModels(graph, { selector: name }).sort().join(' ') }).toEqual({ name, names });
    }
  });

  it('selects what dbt ls lists, for every recorded selector', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    const differing = cases
      .map(([select, exclude, names]) => ({
        select,
        exclude,
        dbt: names,
        meterflow: selectModels(graph, { select: select ? [select] : [], exclude: exclude ? [exclude] : [] })
          .sort()
          .join(' '),
      }))
      .filter((c) => c.dbt !== c.meterflow);
    expect(differing).toEqual([]);
  });

  it('goes one step at a time through an ephemeral model, as dbt counts depth', () => {
    // orders reads the ephemeral eph, which reads stg_a: one step up from orders reaches eph (nothing to build) and stg_b
    expect(selectModels(graph, { select: ['1+orders'] }).sort()).toEqual(['orders', 'stg_b']);
    expect(selectModels(graph, { select: ['2+orders'] }).sort()).toEqual(['orders', 'stg_a', 'stg_b']);
  });

  it('reads a folder along the fqn, from under the model path, and hints at path: when a folder is not there', () => {
    expect(selectModels(graph, { select: ['marts.finance'] }).sort()).toEqual(['orders', 'payments']);
    expect(() => selectModels(graph, { select: ['finance.*'] })).toThrow(
      "selector 'finance.*' matches no model, seed, snapshot or source (as in dbt, a folder is matched along the fqn, which starts under the model path: orders's is sp.marts.finance.orders; select the folder models/marts/finance with path:models/marts/finance)",
    );
  });

  it('refuses what it cannot honour, naming the selector', () => {
    expect(() => selectModels(graph, { select: ['state:modified+'] })).toThrow(
      /selector 'state:modified\+' cannot be honoured: .*previous run's manifest/,
    );
    expect(() => selectModels(graph, { select: ['result:error'] })).toThrow(/cannot be honoured/);
    expect(() => selectModels(graph, { select: ['test_type:unit'] })).toThrow(/does not select tests on their own/);
    expect(() => selectModels(graph, { select: [], exclude: ['resource_type:test'] })).toThrow(/does not select tests on their own/);
    expect(() => selectModels(graph, { select: ['exposure:weekly'] })).toThrow(/does not read exposures/);
    expect(() => selectModels(graph, { select: ['bogus:x'] })).toThrow("selector 'bogus:x': 'bogus' is not a valid method name");
    expect(() => selectModels(graph, { select: ['resource_type:table'] })).toThrow("'table' is not a resource type");
    expect(() => selectModels(graph, { select: ['@stg_a+'] })).toThrow('the "@" prefix and "+" suffix are incompatible');
    expect(() => selectModels(graph, { select: ['source:a.b.c.d'] })).toThrow(
      /sources are selected as source, source.table or package.source.table/,
    );
    expect(() => selectModels(graph, { select: ['path:../models'] })).toThrow(/relative to the project folder and stays in it/);
    expect(() => selectModels(graph, { select: ['tag:nothing'] })).toThrow(
      "selector 'tag:nothing' matches no model, seed, snapshot or source",
    );
  });
});

describe('YAML selectors', () => {
  /** The fixture with this selectors.yml. */
  async function withSelectors(label: string, yaml: string): Promise<string> {
    const dir = await tempDir(`selectors-${label}`);
    await cp(FIXTURE, dir, { recursive: true });
    await writeFile(path.join(dir, 'selectors.yml'), yaml);
    return dir;
  }

  it('takes the default selector where nothing is selected, and not where --select or --exclude is given', async () => {
    const dir = await withSelectors('default', "selectors:\n  - name: nightly\n    default: true\n    definition: 'tag:daily'\n");
    const { selection } = await loadProject(dir);
    expect(selectModels(selection).sort()).toEqual(['customers', 'payments', 'stg_c']);
    expect(selectModels(selection, { exclude: ['tag:daily'] }).sort()).toEqual(['orders', 'snap', 'snap_user', 'stg_a', 'stg_b', 'top']);
    expect(selectModels(selection, { select: ['top'] })).toEqual(['top']);
  });

  it('refuses what dbt would leave unread or cannot find, naming the selector and the file', async () => {
    const { selection } = await loadProject(FIXTURE);
    expect(() => selectModels(selection, { selector: 'inter', select: ['top'] })).toThrow(
      '--selector inter cannot be combined with --select or --exclude (dbt would leave them unread)',
    );
    expect(() => selectModels(selection, { selector: 'nope' })).toThrow(
      /^no selector 'nope' in selectors.yml: it defines daily_string, one_key, /,
    );
    const none = await loadProject(await withSelectors('none', "selectors:\n  - name: nothing\n    definition: 'tag:nosuchtag'\n"));
    expect(() => selectModels(none.selection, { selector: 'nothing' })).toThrow(
      "selector 'nothing' of selectors.yml selects no model or snapshot",
    );
    const refused = async (label: string, yaml: string) => loadProject(await withSelectors(label, yaml));
    await expect(
      refused('two-defaults', 'selectors:\n  - {name: a, default: true, definition: top}\n  - {name: b, default: true, definition: top}\n'),
    ).rejects.toThrow('selectors.yml: selectors a and b both say default: true');
    await expect(
      refused('later', 'selectors:\n  - {name: a, definition: {method: selector, value: b}}\n  - {name: b, definition: top}\n'),
    ).rejects.toThrow("selectors.yml: selector 'a' reuses selector 'b', not defined above it");
    await expect(refused('state', "selectors:\n  - {name: a, definition: 'state:modified'}\n")).rejects.toThrow(/cannot be honoured/);
    await expect(refused('keys', 'selectors:\n  - {name: a, definition: {method: tag, value: x, parent: true}}\n')).rejects.toThrow(
      "selectors.yml: selector 'a': unknown key parent",
    );
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
