// An analytics model's YAML tests on its result file, in a scratch DuckDB. Runs test their results in
// runAnalyticsModel now; this stays for the testAnalyticsResult activity of histories recorded before.
import { ProjectError } from '../errors';
import { quotedIdentifier, readParquet } from '../duckdb/sql';
import { runDataTests } from '../warehouse/data-tests';
import { withScratchDuckdb } from '../duckdb/instances';
import type { DataTestResults, TestAnalyticsResultInput } from '../contract/activities';
import type { AnalyticsContext } from './context';
import { findModel } from '../build/model-sql';

/** The model's tests' results on the result file at outputUri (the activity fails on error-severity failures). */
export async function testAnalyticsResult(
  { project, storage, duckdb }: AnalyticsContext,
  { model: name, outputUri }: TestAnalyticsResultInput,
): Promise<DataTestResults> {
  const model = findModel(project, name);
  const store = storage.forUri(outputUri);
  const object = await store.stat(outputUri);
  if (!object) throw new ProjectError(`analytics result of ${name} is missing at ${outputUri}`);
  const file = await store.localPath(object);
  return withScratchDuckdb(duckdb, async (connection) => {
    await connection.run(`create view ${quotedIdentifier(name)} as select * from ${readParquet([file])}`);
    return runDataTests(connection, model.tests, quotedIdentifier(name), (ref) => {
      throw new ProjectError(`${model.file}: a relationships test on an analytics model cannot ref ${ref}`, model.file);
    });
  });
}
