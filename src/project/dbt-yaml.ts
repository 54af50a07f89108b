// YAML as dbt reads it (PyYAML), for a project's YAML files and for templates' fromyaml().
import YAML from 'yaml';
import { PyFloat, pyFloat } from './jinja-python';

/**
 * YAML as dbt reads it (PyYAML, YAML 1.1): `yes`/`no`/`on`/`off` are booleans and `<<` merges a
 * mapping in. Not the whole of 1.1: `y` and `n` stay strings, as PyYAML keeps them, and dates text.
 */
const DBT_YAML: YAML.ParseOptions & YAML.SchemaOptions = {
  merge: true,
  customTags: (tags) => [
    {
      tag: 'tag:yaml.org,2002:bool',
      default: true,
      identify: (value) => typeof value === 'boolean',
      test: /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
      resolve: (text: string) => /^(?:yes|true|on)$/i.test(text),
    },
    ...tags,
  ],
};

/** A YAML file of a dbt project, parsed as dbt parses it. */
export function parseDbtYaml(text: string): unknown {
  return YAML.parse(text, DBT_YAML);
}

/**
 * The same, with every float as Python's (a whole one, `1.0`, kept a float: PyFloat): for the vars
 * templates print, where `{{ var('rate') }}` gives `1.0` under dbt. PyYAML's floats have a dot.
 */
export function parseDbtYamlKeepingFloats(text: string): unknown {
  return YAML.parse(text, {
    ...DBT_YAML,
    customTags: (tags) => [
      {
        tag: 'tag:yaml.org,2002:float',
        default: true,
        identify: (value) => value instanceof PyFloat,
        test: /^[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?$/,
        resolve: (text: string) => pyFloat(Number(text.replace(/_/g, ''))),
      },
      ...(DBT_YAML.customTags as (tags: YAML.Tags) => YAML.Tags)(tags),
    ],
  });
}
