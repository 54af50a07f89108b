// Jinja's semantics in model templates: empty lists and dicts are false, as in dbt (Python), not true as
// in JavaScript; `and` and `or` give one of their operands, as Jinja's do; a set in a loop stays in it.
import { bundleTemplate } from '../../src/project/macro-bundle';
import { renderModel } from '../../src/project/render';
import { INVOCATION_ID_VAR, RUN_STARTED_AT_VAR } from '../../src/project/types';
import { NO_COLUMNS, type RelationColumns } from '../../src/project/dbt-adapter';

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
    expect(render("{{ [] and var('nowhere') }}")).toBe('[]');
  });
});

describe("Jinja's loop scope in templates", () => {
  it('keeps a set inside a for loop in the loop, as Jinja does, and reads outer variables in it', () => {
    // the sum a dbt user gets is the outer value: Jinja's loop does not write outside itself
    expect(render('{% set total = 0 %}{% for x in [1, 2, 3] %}{% set total = total + x %}{% endfor %}{{ total }}')).toBe('0');
    expect(render("{% set col = 'a' %}{% for c in ['b', 'c'] %}{% set col = c %}{{ col }}{% endfor %}-{{ col }}")).toBe('bc-a');
    // outer variables are read inside the loop, and loop.* works
    expect(render("{% set sep = ', ' %}{% for c in ['x', 'y'] %}{{ c }}{% if not loop.last %}{{ sep }}{% endif %}{% endfor %}")).toBe(
      'x, y',
    );
    // a set outside any loop still counts where the template goes on, and in an if too
    expect(render('{% if true %}{% set v = 2 %}{% endif %}{{ v }}')).toBe('2');
  });

  it('starts each iteration afresh: what one sets, the next does not see', () => {
    expect(render('{% set x = 0 %}{% for i in [1, 2, 3] %}{% if loop.first %}{% set x = 10 %}{% endif %}{{ x }},{% endfor %}{{ x }}')).toBe(
      '10,0,0,0',
    );
    // a nested loop's set is gone after it, and within an iteration a set is seen where it goes on
    expect(render('{% for i in [1, 2] %}{% for j in [3] %}{% set k = i * j %}{% endfor %}{{ k is defined }}{% endfor %}')).toBe(
      'FalseFalse',
    );
    expect(render('{% for i in [1, 2] %}{% set k = i * 10 %}{{ k }};{% endfor %}')).toBe('10;20;');
  });
});

describe("Jinja's namespace()", () => {
  it('carries a value out of a loop through {% set ns.attr %}, as dbt macros do', () => {
    const sum = '{% set ns = namespace(total=0, seen=[]) %}{% for x in [1, 2, 3] %}{% set ns.total = ns.total + x %}{% endfor %}';
    expect(render(`${sum}{{ ns.total }}`)).toBe('6');
    expect(
      render(
        "{% set ns = namespace(found=false) %}{% for c in ['a', 'b'] %}{% if c == 'b' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}",
      ),
    ).toBe('True');
  });

  it('refuses an attribute set on anything but a namespace, as Jinja does', () => {
    expect(() => render("{% set d = {'a': 1} %}{% set d.a = 2 %}{{ d.a }}")).toThrow(/cannot assign attribute a on a non-namespace object/);
  });
});

describe("Python's floats in templates", () => {
  it('prints a whole float as Python does (2.0, not 2), so that SQL gets the same literal and type', () => {
    expect(render('select {{ 10 / 5 }} as s, {{ -2.0 }} as n, {{ 3 * 1.5 }} as p, {{ 7.0 // 2 }} as q')).toBe(
      'select 2.0 as s, -2.0 as n, 4.5 as p, 3.0 as q',
    );
    expect(render("{{ var('t', 10.0) }}|{{ 2 | float }}|{{ 3 | round }}|{{ 2.5 | round }}|{{ [1.0, 2] | sum }}")).toBe(
      '10.0|2.0|3|2.0|3.0',
    );
    expect(render('{{ 0.00001 }}|{{ 10000000000000000 / 1 }}|{{ 1.0 == 1 }}|{{ 4.0 is integer }}|{{ 4.0 is float }}')).toBe(
      '1e-05|1e+16|True|False|True',
    );
    // 0.0 is false, as in Python
    expect(render('{% if 0.0 %}t{% else %}f{% endif %}|{{ 0.0 or 5 }}')).toBe('f|5');
  });

  it("writes JSON as Python's json.dumps does: whole floats, ASCII only, its indent", () => {
    // each expected text is what json.dumps gave (sort_keys for the filter, insertion order for dbt's tojson())
    expect(render("{{ {'b': 2.0, 'a': '\u00e9', 'c': '\u{1F600}'} | tojson }}")).toBe(
      String.raw`{"a": "\u00e9", "b": 2.0, "c": "\ud83d\ude00"}`,
    );
    expect(render("{{ [1, {'x': 1.0}, [], {}] | tojson(indent=2) }}")).toBe('[\n  1,\n  {\n    "x": 1.0\n  },\n  [],\n  {}\n]');
    expect(render("{{ tojson({'b': 1, 'a': 2.0}) }}|{{ tojson(2.0) }}")).toBe('{"b": 1, "a": 2.0}|2.0');
    // sorted as strings, as Python sorts them ('10' before '9'); sort_keys honoured; a timedelta refused
    expect(render("{{ {'b': 1, '10': 2, '9': 3} | tojson }}|{{ tojson({'b': 1, 'a': 2}, sort_keys=True) }}")).toBe(
      '{"10": 2, "9": 3, "b": 1}|{"a": 2, "b": 1}',
    );
    expect(() => render('{{ [modules.datetime.timedelta(hours=1)] | tojson }}')).toThrow(
      'Object of type timedelta is not JSON serializable',
    );
  });

  it("gives meterflow's own code a config's whole float as its number", () => {
    const { config } = renderModel({
      file: 'models/m.sql',
      template: "{{ config(meta={'meterflow': {'split_by': 'k', 'target_mb': 256.0} }, rate=2.0) }}select 1",
      resolver: { ref: (m) => m, source: (_s, t) => t },
      vars: {},
      self: 'm',
    });
    expect(config).toEqual({ meta: { meterflow: { split_by: 'k', target_mb: 256 } }, rate: 2 });
  });
});

describe("a relation's columns while rendering, as dbt_utils' star asks for them", () => {
  // a star as dbt_utils writes one: a Relation check, the columns asked of the adapter, each quoted
  const STAR =
    '{% macro star(from, except=[]) -%}\n' +
    "{%- if not (from is mapping and from.get('metadata', {}).get('type', '').endswith('Relation')) -%}" +
    "{%- do exceptions.raise_compiler_error('star expected a Relation but received ' ~ from) -%}{%- endif -%}\n" +
    '{%- if from.is_cte -%}{%- do exceptions.raise_compiler_error("ephemeral") -%}{%- endif -%}\n' +
    '{%- set cols = [] -%}{%- for col in adapter.get_columns_in_relation(from) if col.column | lower not in except -%}' +
    '{%- do cols.append(adapter.quote(col.column)) -%}{%- endfor -%}\n' +
    "{{ cols | join(', ') }}\n" +
    '{%- endmacro %}\n';
  const renderWith = (template: string, columns?: RelationColumns) =>
    renderModel({
      file: 'models/m.sql',
      template: bundleTemplate(template, [{ file: 'macros/star.sql', source: STAR }]),
      resolver: { ref: (m) => `"main"."${m}"`, source: (_s, t) => `"raw"."${t}"` },
      vars: {},
      self: '"main"."m"',
      ...(columns ? { columns } : {}),
    }).sql;
  const columns: RelationColumns = (key) =>
    ({
      'ref:orders': [
        { name: 'id', dataType: 'INTEGER' },
        { name: 'Note', dataType: 'VARCHAR' },
        { name: 'amount', dataType: 'DOUBLE' },
      ],
      'source:shop.payments': [{ name: 'paid', dataType: 'BOOLEAN' }],
    })[key];

  it("lists a ref's and a source's columns, as the caller looked them up, quoted, less the excepted", () => {
    expect(renderWith("select {{ star(ref('orders'), except=['note']) }} from {{ ref('orders') }}", columns)).toBe(
      'select "id", "amount" from "main"."orders"',
    );
    expect(renderWith("select {{ star(source('shop', 'payments')) }}", columns)).toBe('select "paid"');
  });

  it('refuses what it was not given, naming it: a relation the model does not read, a string, and any where no columns were looked up', () => {
    expect(() => renderWith("select {{ star(ref('customers')) }}", columns)).toThrow(
      'models/m.sql: adapter.get_columns_in_relation("main"."customers") is answered for the model\'s own ref() and source() relations and this only',
    );
    expect(() => renderWith("select {{ star('main.orders') }}", columns)).toThrow('star expected a Relation but received main.orders');
    expect(() => renderWith("select {{ star(ref('orders')) }}")).toThrow('adapter.get_columns_in_relation("main"."orders")');
    // where the project is read or planned: no columns, as at dbt's parse
    expect(renderWith("select {{ star(ref('orders')) }} from x", NO_COLUMNS)).toBe('select  from x');
  });
});

describe("dbt's values of a run in templates", () => {
  const vars = { [RUN_STARTED_AT_VAR]: '2024-01-31T02:00:00.123Z', [INVOCATION_ID_VAR]: 'run-uuid' };
  const rendered = (template: string, projectName?: string) =>
    renderModel({
      file: 'models/m.sql',
      template,
      resolver: { ref: (m) => m, source: (_s, t) => t },
      vars,
      self: '"main_marts"."m"',
      ...(projectName ? { projectName } : {}),
    });

  it("gives the run's start as Python prints a UTC datetime, its id, the project's name and the model's schema", () => {
    expect(rendered("{{ run_started_at }}|{{ run_started_at.strftime('%Y-%m-%d %H:%M') }}|{{ run_started_at.year }}").sql).toBe(
      '2024-01-31 02:00:00.123000+00:00|2024-01-31 02:00|2024',
    );
    expect(rendered('{{ invocation_id }}|{{ schema }}|{{ project_name }}', 'shop').sql).toBe('run-uuid|main_marts|shop');
    // the run's start is part of a model's state where it reads it, so such a model is built anew each run
    expect(rendered("select '{{ run_started_at }}' as loaded_at").usedVars).toEqual({ [RUN_STARTED_AT_VAR]: '2024-01-31T02:00:00.123Z' });
  });

  it("gives modules.datetime as Python's, its now the run's start: dates, datetimes, timedeltas and their arithmetic", () => {
    const dt = 'modules.datetime';
    expect(rendered(`{{ ${dt}.date.today() }}|{{ ${dt}.datetime.now() }}|{{ ${dt}.datetime.utcnow().strftime('%H:%M') }}`).sql).toBe(
      '2024-01-31|2024-01-31 02:00:00.123000|02:00',
    );
    expect(
      rendered(
        `{% set d = ${dt}.date(2024, 2, 28) %}{{ d + ${dt}.timedelta(days=2) }}|{{ (d - ${dt}.date(2024, 1, 1)).days }}|` +
          `{{ d - ${dt}.timedelta(weeks=1) }}|{{ d.replace(day=1) }}|{{ d.weekday() }}|{{ d < ${dt}.date(2024, 3, 1) }}|` +
          `{{ d == ${dt}.date(2024, 2, 28) }}`,
      ).sql,
    ).toBe('2024-03-01|58|2024-02-21|2024-02-01|2|True|True');
    expect(
      rendered(
        `{% set t = ${dt}.datetime.strptime('2024-03-31 23:30:00', '%Y-%m-%d %H:%M:%S') %}{{ t + ${dt}.timedelta(hours=1) }}|` +
          `{{ t.isoformat() }}|{{ ${dt}.timedelta(days=1, hours=2, minutes=3) }}|{{ t.date() }}`,
      ).sql,
    ).toBe('2024-04-01 00:30:00|2024-03-31T23:30:00|1 day, 2:03:00|2024-03-31');
    // a model that reads the clock is built anew on every run
    expect(rendered(`select '{{ ${dt}.date.today() }}'`).usedVars).toEqual({ [RUN_STARTED_AT_VAR]: '2024-01-31T02:00:00.123Z' });
    expect(() => rendered(`{{ ${dt}.date(2024, 2, 30) }}`)).toThrow('day is out of range for month');
  });

  it("scales timedeltas, parses ISO datetimes and raises to a power as Python does, and refuses an offset other than UTC's", () => {
    const dt = 'modules.datetime';
    const day = `${dt}.timedelta(days=1)`;
    // each expected text is what Python 3.11 printed
    expect(
      rendered(`{{ ${day} * 2 }}|{{ 3 * ${dt}.timedelta(hours=1) }}|{{ ${day} / ${dt}.timedelta(hours=1) }}|{{ ${day} / 4 }}`).sql,
    ).toBe('2 days, 0:00:00|3:00:00|24.0|6:00:00');
    const iso = (text: string) => `{{ ${dt}.datetime.fromisoformat('${text}') }}`;
    expect(
      rendered([iso('2024-01-01T10:20:30.5+00:00'), iso('2024-01-01T10:20:30Z'), iso('2024-01-01'), iso('2024-01-01 10:20')].join('|')).sql,
    ).toBe('2024-01-01 10:20:30.500000+00:00|2024-01-01 10:20:30+00:00|2024-01-01 00:00:00|2024-01-01 10:20:00');
    expect(() => rendered(iso('2024-01-01T00:00:00+01:00'))).toThrow("meterflow's datetimes are UTC, and +01:00 is another offset");
    expect(() => rendered(iso('soon'))).toThrow("Invalid isoformat string: 'soon'");
    expect(() => rendered(iso('2024-01-01T10:60:00'))).toThrow('minute must be in 0..59');
    // what meterflow cannot keep (below a millisecond) is refused, not rounded
    expect(() => rendered(iso('2024-01-01T10:00:00.123456'))).toThrow('meterflow keeps datetimes to the millisecond');
    expect(() => rendered(`{{ ${day} / 7 / 3 / 1000 }}`)).toThrow('meterflow keeps timedeltas to the millisecond');
    expect(rendered('{{ 2.0 ** 2 }}|{{ 2 ** 3 }}|{{ 2 ** -1 }}|{{ 4 ** 0.5 }}').sql).toBe('4.0|8|0.5|2.0');
  });

  it("refuses the rest of dbt's context it has no value for, rather than printing nothing", () => {
    expect(() => rendered('{{ database }}')).toThrow('models/m.sql: database has no value in meterflow');
    expect(() => rendered('{{ dbt_version }}')).toThrow('models/m.sql: dbt_version has no value in meterflow');
    expect(() => rendered('{{ project_name }}')).toThrow('models/m.sql: project_name has no value in meterflow');
  });
});

describe("Python's type errors in templates", () => {
  it('name the line and column of the operation, as dbt names where a template failed', () => {
    expect(() => render("select 1\n, {{ 'a' + 1 }}")).toThrow(
      "[Line 2, Column 6]\n  Error: unsupported operand type(s) for +: 'str' and 'int'",
    );
  });
});

describe('macro files as dbt packages write them', () => {
  const withMacros = (template: string, macros: string) =>
    renderModel({
      file: 'models/m.sql',
      template: bundleTemplate(template, [{ file: 'macros/utils.sql', source: macros }]),
      resolver: { ref: (m) => m, source: (_s, t) => t },
      vars: {},
      self: 'm',
    }).sql;

  it("gives an installed package's macros under its name, its own by name within it, and dispatch its own first there", () => {
    const pkg = {
      file: 'dbt_packages/p/macros/m.sql',
      package: 'p',
      source:
        "{% macro greet() %}{{ adapter.dispatch('hello')() }}{% endmacro %}{% macro default__hello() %}package{% endmacro %}" +
        '{% macro helper() %}{{ greet() }}{% endmacro %}',
    };
    const own = { file: 'macros/r.sql', source: '{% macro default__hello() %}project{% endmacro %}' };
    const sql = renderModel({
      file: 'models/m.sql',
      template: bundleTemplate("{{ p.helper() }}|{{ adapter.dispatch('hello')() }}|{{ adapter.dispatch('hello', 'p')() }}", [own, pkg]),
      resolver: { ref: (m) => m, source: (_s, t) => t },
      vars: {},
      self: 'm',
    }).sql;
    // dbt's orders: no namespace, the calling package then the project; with one, the project then the package
    expect(sql).toBe('package|project|project');
  });

  it("calls a macro whose name begins with '_', and takes /* */ comments between macros", () => {
    const macros =
      "/* helpers */\n{% macro _quoted(x) %}'{{ x }}'{% endmacro %}\n/* the one models call */\n{% macro label(x) %}{{ _quoted(x) }}{% endmacro %}";
    expect(withMacros("select {{ label('a') }}", macros)).toBe("select 'a'");
  });

  it('formats a multi-line string, and prints nothing for an argument left out, as dbt does', () => {
    const macros =
      "{% macro add(a, b) %}{{ '\n  coalesce({}, 0) +\n  coalesce({}, 0)'.format(a, b) }}{% endmacro %}{% macro opt(x) %}[{{ x }}]{% endmacro %}";
    expect(withMacros("select {{ add('x', 'y') }} {{ opt() }}", macros)).toBe('select \n  coalesce(x, 0) +\n  coalesce(y, 0) []');
  });

  it("refuses an attribute of an undefined name, as Jinja's Undefined does", () => {
    expect(() => render('{{ not_defined.attr }}')).toThrow('an undefined value has no attribute attr');
  });
});

describe("a call's arguments as Jinja takes them", () => {
  it('spreads *list and **dict into a call, and takes a trailing comma', () => {
    const macro = '{% macro m(a, b, c=3) %}{{ a }}{{ b }}{{ c }}{% endmacro %}';
    expect(render(`${macro}{% set l = [1, 2] %}{% set d = {'c': 9} %}{{ m(*l, **d) }}|{{ m(1, 2,) }}|{{ m(*[5], 6, c=7) }}`)).toBe(
      '129|123|567',
    );
    expect(render(`${macro}{{ m(*'ab') }}`)).toBe('ab3');
    expect(() => render(`${macro}{{ m(*5) }}`)).toThrow('argument after * must be an iterable, not int');
  });
});

describe('relations in templates', () => {
  const withRelations = (template: string) =>
    renderModel({
      file: 'models/m.sql',
      template,
      resolver: { ref: (m) => `"main"."${m}"`, source: (_s, t) => `(select * exclude (_source_file) from "raw"."${t}")` },
      vars: {},
      self: '"main"."m"',
    }).sql;

  it("answer dbt's Relation attributes, and print as their SQL", () => {
    expect(withRelations('{{ this }} {{ this.identifier }} {{ this.schema }} {{ this.name }}')).toBe('"main"."m" m main m');
    expect(withRelations("{{ ref('orders').identifier }} {{ source('s', 't').schema }}.{{ source('s', 't').table }}")).toBe('orders raw.t');
    expect(withRelations("{{ ref('x') ~ '_y' }} {{ ref('x') is string }}")).toBe('"main"."x"_y True');
    expect(() => withRelations('{{ this.database }}')).toThrow("a relation's database has no value in meterflow");
  });

  it("label rows with the table people read, as dbt_utils' union_relations does with dbt.string_literal", () => {
    // (a model the run rebuilt is read from its unpublished version, whose name is the run's own)
    const pending = renderModel({
      file: 'models/m.sql',
      template: "select {{ dbt.string_literal(ref('orders')) }} as relation, {{ string_literal('a') }} as text from {{ ref('orders') }}",
      resolver: { ref: (m) => `"main"."__meterflow_pending_${m}__01a25296f3f17960"`, identifier: (m) => m, source: (_s, t) => t },
      vars: {},
      self: '"main"."m"',
    }).sql;
    expect(pending).toBe(
      'select \'"main"."orders"\' as relation, \'a\' as text from "main"."__meterflow_pending_orders__01a25296f3f17960"',
    );
  });
});

describe('{% with %}', () => {
  it('sets names for its block alone, their values read in the outer scope', () => {
    expect(render('{% set a = 5 %}{% with a = 1, b = a %}{{ a }}{{ b }}{% endwith %}{{ a }}')).toBe('155');
    expect(render('{% with %}{% set z = 1 %}{% endwith %}{{ z is defined }}')).toBe('False');
  });
});

describe("dbt's config.get and config.require", () => {
  const withConfig = (template: string, options: Partial<Parameters<typeof renderModel>[0]> = {}) =>
    renderModel({ file: 'models/m.sql', template, resolver: { ref: (m) => m, source: (_s, t) => t }, vars: {}, self: 'm', ...options }).sql;

  it("answer the model's resolved config where its SQL runs, '' where the project is read, as dbt's parse does", () => {
    const template =
      "{{ config(unique_key='id') }}{{ config.get('materialized') }} {{ config.get('unique_key') }} {{ config.get('nope', 'd') }} {{ config.get('other') }} {{ config.require('materialized') }}";
    expect(withConfig(template, { nodeConfig: { materialized: 'table' } })).toBe('table id d None table');
    expect(withConfig(template, { queries: 'discover' })).toBe('    ');
    expect(() => withConfig("{{ config.require('unique_key') }}", { nodeConfig: { materialized: 'view' } })).toThrow(
      "models/m.sql: config.require('unique_key'): the model has no 'unique_key' config",
    );
    // (a template rendered where no config is kept, a generic test's: refused rather than guessed)
    expect(() => withConfig("{{ config.get('materialized') }}")).toThrow(
      "config.get('materialized') is not answered where this template renders",
    );
  });
});

describe("a template's reach, sandboxed as dbt's Jinja is", () => {
  const render = (template: string) =>
    renderModel({ file: 'm.sql', template, resolver: { ref: (m) => m, source: (_s, t) => t }, vars: {}, self: 'm' }).sql;

  it('reaches no JavaScript: constructor, __proto__, call and the like are refused as attributes, and are no variables', () => {
    for (const template of [
      '{{ range.constructor("return process.env")() }}',
      "{{ range['constructor'] }}",
      '{{ modules.datetime.__proto__ }}',
      "{{ [1] | map(attribute='constructor') | list }}",
      "{{ range | attr('call') }}",
      '{{ (1).__class__ }}',
      '{{ namespace(a=1).constructor }}',
    ]) {
      expect(() => render(template)).toThrow(/access to attribute '\w+' is unsafe: dbt's Jinja is sandboxed/);
    }
    expect(() => render('{{ constructor.getOwnPropertyNames }}')).toThrow(/an undefined value has no attribute/);
  });

  it("keeps a dict's own keys, variables named with _, and caller in a called macro", () => {
    expect(render("{% set d = {'_x': 1, 'constructor': 2} %}{{ d._x }} {{ d['constructor'] }} {{ d.constructor }}")).toBe('1 2 2');
    expect(render('{% set _y = 3 %}{{ _y }}')).toBe('3');
    expect(render('{% macro m() %}({{ caller() }}){% endmacro %}{% call m() %}in{% endcall %}')).toBe('(in)');
  });
});
