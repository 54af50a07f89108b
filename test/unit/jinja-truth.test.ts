// Jinja's truth in model templates: empty lists and dicts are false, as in dbt (Python), not true as
// in JavaScript; `and` and `or` give one of their operands, as Jinja's do.
import { renderModel } from '../../src/project/render';

const render = (template: string, vars: Record<string, unknown> = {}) =>
  renderModel({ file: 'models/m.sql', template, resolver: { ref: (m) => m, source: (_s, t) => t }, vars, self: 'm' }).sql;

describe("Jinja's truth in templates", () => {
  it('takes empty lists and dicts as false in if, elif, not and inline if', () => {
    expect(render("{% if var('excluded', []) %}filtered{% else %}all{% endif %}")).toBe('all');
    expect(render("{% if var('excluded') %}filtered{% else %}all{% endif %}", { excluded: ['x'] })).toBe('filtered');
    expect(render('{% if {} %}a{% elif [1] %}b{% endif %}')).toBe('b');
    expect(render("{% if not var('excluded', []) %}none{% endif %}")).toBe('none');
    expect(render("{{ 'some' if var('excluded', {}) else 'none' }}")).toBe('none');
    // what is false in both stays false, what is true stays true
    expect(render("{% if '' or 0 or none or false %}t{% else %}f{% endif %}")).toBe('f');
    expect(render("{% if 'x' and 1 and [0] %}t{% else %}f{% endif %}")).toBe('t');
  });

  it('gives and/or an operand, as Jinja does, evaluating the right one only when needed', () => {
    expect(render("{{ [] or 'fallback' }}")).toBe('fallback');
    expect(render("{{ 'first' or 'second' }}")).toBe('first');
    expect(render("{{ ({} and 'x') | length }}")).toBe('0');
    expect(render("{{ 'a' and 'b' }}")).toBe('b');
    // the right side is not evaluated when the left decides: an undefined var would throw
    expect(render("{{ 'kept' or var('nowhere') }}")).toBe('kept');
    expect(render("{{ [] and var('nowhere') }}")).toBe('');
  });
});
