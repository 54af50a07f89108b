// docs/cli.md is the command line's own help, generated: a change to a command, an option or a
// description that is not in the file fails here, with the command that writes it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cliDocs } from '../../src/cli/cli-docs';
import { PACKAGE_ROOT } from '../../src/config';

describe('docs/cli.md', () => {
  it('is the help every command prints, as `npm run docs:cli` writes it', async () => {
    const written = await readFile(path.join(PACKAGE_ROOT, 'docs', 'cli.md'), 'utf8');
    const current = cliDocs();
    if (written !== current) throw new Error('docs/cli.md differs from the CLI help: run `npm run build && npm run docs:cli`');
    expect(current).toContain('## meterflow run\n');
    expect(current).toContain('## meterflow schedule backfill\n');
    expect(current).not.toContain(PACKAGE_ROOT);
  });
});
