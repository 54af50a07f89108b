// Templates rendered by meterflow against what dbt renders for them. The corpus
// (fixtures/jinja/dbt-jinja-corpus.json: 651 templates of what dbt projects write in models and
// macros, 126 of them from a differential probe) holds, for each, the SQL dbt-core 1.10.15's own Jinja environment gave (its macro wrapper
// for return(), jinja2.ext.do and loopcontrols, default Undefined), or its error. meterflow must
// render the same, or fail where dbt fails, except for the differences known and named in
// fixtures/jinja/known-differences.json, each of which must still differ (a fixed one is removed).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleTemplate } from '../../src/project/macro-bundle';
import { testBlocksAsMacros } from '../../src/project/macros';
import { renderModel } from '../../src/project/render';

interface Case {
  readonly name: string;
  readonly template: string;
  readonly vars?: Record<string, unknown>;
  readonly macros?: Record<string, string>;
  readonly expected?: string;
  readonly expectedError?: string;
}

const fixtures = path.join(__dirname, '..', 'fixtures', 'jinja');
const corpus = JSON.parse(readFileSync(path.join(fixtures, 'dbt-jinja-corpus.json'), 'utf8')) as Case[];
const known = JSON.parse(readFileSync(path.join(fixtures, 'known-differences.json'), 'utf8')) as Record<
  string,
  { kind: string; why: string }
>;

/** What meterflow renders for a case, bundled with its macro files as a project's models are. */
function render(c: Case): { output?: string; error?: string } {
  const macros = Object.entries(c.macros ?? {}).map(([file, source]) => ({ file, source: testBlocksAsMacros(source) }));
  try {
    const rendered = renderModel({
      file: 'models/m.sql',
      template: bundleTemplate(c.template, macros),
      resolver: { ref: (m) => `"main"."${m}"`, source: (_s, t) => `raw.${t}` },
      vars: c.vars ?? {},
      self: '"main"."m"',
    });
    return { output: rendered.sql };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const agrees = (c: Case, got: { output?: string; error?: string }) =>
  c.expectedError !== undefined ? got.error !== undefined : got.output?.trimEnd() === c.expected?.trimEnd();

describe('templates rendered as dbt renders them', () => {
  it('has a corpus of templates, each with what dbt gave, and names known differences only of it', () => {
    expect(corpus.length).toBeGreaterThan(500);
    const names = new Set(corpus.map((c) => c.name));
    expect(Object.keys(known).filter((name) => !names.has(name))).toEqual([]);
  });

  const agreeing = corpus.filter((c) => !(c.name in known));
  it.each(agreeing.map((c) => [c.name, c] as const))('%s: renders what dbt renders', (_name, c) => {
    const got = render(c);
    if (c.expectedError !== undefined) expect(got.error).toBeDefined();
    else expect(got.error ?? got.output?.trimEnd()).toBe(c.expected?.trimEnd());
  });

  it('still differs from dbt where a difference is known (remove it from the list once it agrees)', () => {
    const agreeingNow = corpus.filter((c) => c.name in known && agrees(c, render(c))).map((c) => c.name);
    expect(agreeingNow).toEqual([]);
  });
});
