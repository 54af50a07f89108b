// Whether a project's definition of a generic test is meterflow's own (the one models/tests/generic
// ships for dbt to run): then meterflow runs the test natively, with the same meaning. Any other
// definition of that name (dbt_utils' expression_is_true, which passes a row where the expression
// is null) is the project's, and runs as written, as dbt runs it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config';

const SHIPPED = path.join(PACKAGE_ROOT, 'models', 'tests', 'generic');
const shipped = new Map<string, string | undefined>();

/** A test's `{% test name(…) %} … {% endtest %}` block in a file, if it has one. */
function testBlock(source: string, name: string): string | undefined {
  return new RegExp(`\\{%-?\\s*test\\s+${name}\\s*\\([\\s\\S]*?\\{%-?\\s*endtest\\s*-?%\\}`).exec(source)?.[0];
}

const normalized = (block: string) =>
  block
    .replace(/\{#[\s\S]*?#\}/g, '')
    .replace(/\s+/g, ' ')
    .trim();

/** Whether the test `name` of this file is meterflow's own definition, up to whitespace and comments. */
export function isMeterflowDefinition(name: string, source: string): boolean {
  if (!shipped.has(name)) {
    let text: string | undefined;
    try {
      text = readFileSync(path.join(SHIPPED, `${name}.sql`), 'utf8');
    } catch {
      text = undefined;
    }
    shipped.set(name, text === undefined ? undefined : testBlock(text, name));
  }
  const ours = shipped.get(name);
  const theirs = testBlock(source, name);
  return ours !== undefined && theirs !== undefined && normalized(ours) === normalized(theirs);
}
