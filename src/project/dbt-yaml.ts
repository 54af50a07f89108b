// YAML as dbt reads it (PyYAML), for a project's YAML files and for templates' fromyaml().
import YAML from 'yaml';

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
