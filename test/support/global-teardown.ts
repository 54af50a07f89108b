// Stops the shared Temporal dev server, S3 server and PostgreSQL server (deleting its folder).
export default async function globalTeardown(): Promise<void> {
  await globalThis.meterflowTestServer?.stop();
  await globalThis.meterflowS3Server?.stop();
  await globalThis.meterflowPostgresServer?.stop();
}
