// A lake's catalog as people name it (`sqlite:<file>`, `postgres:<conninfo> lake=<name>`), parsed and
// named again for messages. Pure: the command line names warehouses without loading DuckDB.
import path from 'node:path';
import { masked } from '../secrets';
import { LakeCatalogError } from '../errors';

/**
 * Where the catalog lives. As a string: `sqlite:<file>` (a bare path means the same) or
 * `postgres:<libpq conninfo>`, e.g. `postgres:dbname=lake host=db port=5432 user=meterflow` — put a
 * password in PGPASSWORD or ~/.pgpass, not in the conninfo. One PostgreSQL database holds several
 * lakes, each in a schema of its own: `lake=<name>` among the conninfo's settings names it (meterflow
 * takes it out before libpq sees the rest; without it, the lake is in `public`).
 */
export type LakeCatalog =
  { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly conninfo: string; readonly lake?: string };

/** A lake's name in a PostgreSQL catalog is the schema of its tables there: a plain lower-case identifier. */
const LAKE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function parseLakeCatalog(text: string): LakeCatalog {
  const colon = text.indexOf(':');
  const prefix = colon < 0 ? '' : text.slice(0, colon);
  if (prefix === 'postgres') {
    let lake: string | undefined;
    const conninfo = text
      .slice(colon + 1)
      .replace(/(^|\s)lake\s*=\s*(\S*)/g, (_match, _space: string, name: string) => {
        if (lake !== undefined)
          throw new LakeCatalogError(`a postgres: lake catalog names its lake once, not 'lake=${lake}' and 'lake=${name}'`, 'postgres');
        if (!LAKE_NAME.test(name)) {
          throw new LakeCatalogError(
            `lake=${name} in a postgres: lake catalog: a lake's name is the PostgreSQL schema of its catalog tables, lower-case letters, digits and _ (e.g. lake=north)`,
            'postgres',
          );
        }
        lake = name;
        return '';
      })
      .trim()
      .replace(/\s+/g, ' ');
    if (conninfo.length === 0)
      throw new LakeCatalogError('a postgres: lake catalog needs a conninfo, e.g. postgres:dbname=lake host=…', 'postgres');
    return { kind: 'postgres', conninfo, ...(lake !== undefined ? { lake } : {}) };
  }
  const file = prefix === 'sqlite' ? text.slice(colon + 1) : text;
  // a bare path holds no scheme (a Windows drive letter aside, which has one letter)
  if (prefix !== 'sqlite' && prefix.length > 1 && /^[a-z][a-z0-9+.-]*$/i.test(prefix)) {
    throw new LakeCatalogError(`unknown lake catalog kind '${prefix}:': use sqlite:<file> or postgres:<conninfo>`, prefix);
  }
  if (file.length === 0)
    throw new LakeCatalogError('a sqlite: lake catalog needs a file, e.g. sqlite:.meterflow/warehouse/catalog.sqlite', 'sqlite');
  return { kind: 'sqlite', path: path.resolve(file) };
}

/** A catalog as messages name it: the conninfo without a password (`password=***`), and its lake. */
export function catalogName(catalog: LakeCatalog): string {
  if (catalog.kind === 'sqlite') return `sqlite:${catalog.path}`;
  return `postgres:${masked(catalog.conninfo)}${catalog.lake !== undefined ? ` lake=${catalog.lake}` : ''}`;
}
