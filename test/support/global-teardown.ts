// Stops the shared Temporal dev server and S3 server.
export default async function globalTeardown(): Promise<void> {
  await globalThis.meterflowTestServer?.stop();
  await globalThis.meterflowS3Server?.stop();
}
