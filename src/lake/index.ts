// The lake: DuckLake tables and the DuckDB extensions they need.
export * from './extensions';
export * from './lake';
