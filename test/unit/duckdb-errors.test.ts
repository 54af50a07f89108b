import { isPermanentDuckdbError } from '../../src/duckdb/sql';

describe('which DuckDB errors recur on retry', () => {
  it('calls errors of the SQL or the data permanent', () => {
    expect(isPermanentDuckdbError(new Error('Binder Error: Referenced column "x" not found in FROM clause!'))).toBe(true);
    expect(isPermanentDuckdbError(new Error('Conversion Error: Could not convert string "a" to INT32'))).toBe(true);
    expect(isPermanentDuckdbError(new Error('Parser Error: syntax error at or near "selec"'))).toBe(true);
  });

  it('retries an IO error and out of memory', () => {
    expect(isPermanentDuckdbError(new Error('IO Error: No space left on device'))).toBe(false);
    expect(isPermanentDuckdbError(new Error('Out of Memory Error: could not allocate block'))).toBe(false);
  });

  it('retries DuckLake losing its PostgreSQL catalog, whatever class DuckDB gives it', () => {
    // as CI met it: the catalog's server went away while a seed ran, and came back
    const dropped =
      'Binder Error: Failed to query most recent snapshot for DuckLake: Failed to prepare query "SELECT snapshot_id, schema_version, next_catalog_id, next_file_id FROM "public".ducklake_snapshot WHERE snapshot_id = (SELECT MAX(snapshot_id) FROM "public".ducklake_snapshot)": server closed the connection unexpectedly';
    expect(isPermanentDuckdbError(new Error(dropped))).toBe(false);
    const refused =
      'IO Error: Failed to query most recent snapshot for DuckLake: Unable to connect to Postgres at "dbname=lake host=127.0.0.1 port=5432": connection to server at "127.0.0.1", port 5432 failed: Connection refused';
    expect(isPermanentDuckdbError(new Error(refused))).toBe(false);
    expect(
      isPermanentDuckdbError(new Error('Binder Error: Failed to prepare query: terminating connection due to administrator command')),
    ).toBe(false);
  });

  it("retries DuckLake's catalog database lost from a shared instance, and nothing else of that class", () => {
    // as the bench met it: a plan's catalog-wide query while another activity detached its lake
    const lost =
      'Binder Error: Failed to query most recent snapshot for DuckLake: Catalog "__ducklake_metadata_lake_14031_41" does not exist!';
    expect(isPermanentDuckdbError(new Error(`months of demand_price_elasticity: ${lost}`))).toBe(false);
    expect(isPermanentDuckdbError(new Error('Catalog Error: Catalog "warehouse" does not exist!'))).toBe(true);
  });
});
