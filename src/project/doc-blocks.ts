// dbt's docs blocks: `{% docs name %}…{% enddocs %}` in the project's Markdown files, which a YAML
// description names with `{{ doc('name') }}`. Descriptions are read with each such call replaced by its
// block's text, as dbt renders them, so manifest.json, the lineage and the report show the text.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ProjectError } from '../errors';

/** A docs block's text, and the file it is in. */
export interface DocBlock {
  readonly text: string;
  readonly file: string;
}

const BLOCK = /\{%-?\s*docs\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}([\s\S]*?)\{%-?\s*enddocs\s*-?%\}/g;
const DOC_CALL = /\{\{\s*doc\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1\s*\)\s*\}\}/g;

/** The docs blocks of these Markdown files (paths relative to `dir`); a name given twice is refused, as dbt refuses it. */
export async function loadDocBlocks(dir: string, files: readonly string[]): Promise<Map<string, DocBlock>> {
  const blocks = new Map<string, DocBlock>();
  for (const file of files) {
    const text = await readFile(path.join(dir, file), 'utf8');
    for (const [, name, body] of text.matchAll(BLOCK)) {
      const other = blocks.get(name as string);
      if (other) throw new ProjectError(`${file}: docs block '${name}' is defined in ${other.file} too`, file);
      blocks.set(name as string, { text: (body as string).trim(), file });
    }
  }
  return blocks;
}

/** A description with each `{{ doc('name') }}` replaced by its block's text; one naming no block is refused. */
export function withDocs(description: string, blocks: ReadonlyMap<string, DocBlock>, file: string): string {
  return description.replace(DOC_CALL, (_call, _quote, name: string) => {
    const block = blocks.get(name);
    if (!block) throw new ProjectError(`${file}: doc('${name}') names no docs block in the project's .md files`, file);
    return block.text;
  });
}

/** A YAML document with every `description:` in it read through withDocs. */
export function describedWithDocs<T>(yaml: T, blocks: ReadonlyMap<string, DocBlock>, file: string): T {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    // (a mapping only: a date or another value the YAML gave stays as it is)
    if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        key === 'description' && typeof item === 'string' ? withDocs(item, blocks, file) : walk(item),
      ]),
    );
  };
  return walk(yaml) as T;
}
