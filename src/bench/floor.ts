// The floor: the same SQL meterflow runs, in one DuckDB process with no orchestration, no tests and no
// snapshot. The sources are seeded as meterflow's seed step does, one statement each.
import type { DuckDBConnection } from '@duckdb/node-api';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { quotedIdentifier, readParquet, relation } from '../duckdb/sql';
import type { LoadedProject } from '../project/load';
import { renderModel } from '../project/render';
import { relationKind, type ModelNode } from '../project/types';
import { withDuckdbFile } from '../duckdb/instances';

/** Seed every source from its folder's Parquet files, as meterflow's seed step does, in one statement each. */
export async function seedTables(connection: DuckDBConnection, project: LoadedProject, sources: string): Promise<void> {
  await connection.run('create schema if not exists raw');
  for (const source of project.plan.sources) {
    const columns = source.columns.map((c) => quotedIdentifier(c.name)).join(', ');
    await connection.run(
      `create or replace table ${relation('raw', source.name)} as select ${columns}, filename as _source_file from ${readParquet([path.join(sources, source.name, '*.parquet')], 'filename = true')}`,
    );
  }
}

/** A model's SQL over plain warehouse names, as the floor and the master comparison run it. */
export function floorSql(project: LoadedProject, model: ModelNode): string {
  return renderModel({
    file: model.file,
    template: project.templates.get(model.name) ?? '',
    vars: project.plan.vars,
    self: model.name,
    resolver: { ref: (m) => relation('main', m), source: (_s, t) => relation('raw', t) },
  }).sql;
}

/** The floor itself, into a new DuckDB file. */
export async function rawDuckdb(project: LoadedProject, sources: string, database: string): Promise<void> {
  await rm(database, { force: true });
  await withDuckdbFile(database, {}, async (connection) => {
    await seedTables(connection, project, sources);
    for (const model of project.plan.models) {
      await connection.run(
        `create or replace ${relationKind(model.materialized)} ${relation('main', model.name)} as ${floorSql(project, model)}`,
      );
    }
  });
}

/** The sources seeded into a DuckDB file, and no model built. */
export async function seedOnly(project: LoadedProject, sources: string, database: string): Promise<void> {
  await withDuckdbFile(database, {}, (connection) => seedTables(connection, project, sources));
}
