// Child process for the streaming test: uploads a file to S3 and downloads it through the cache with a
// small heap (--max-old-space-size), then prints the downloaded file's sha256. Runs the built dist/.
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const { S3Storage, s3SettingsFromEnv } = require('../../dist/storage');

async function main() {
  const [file, uri] = process.argv.slice(2);
  const storage = new S3Storage(s3SettingsFromEnv());
  await storage.upload(file, uri);
  const object = await storage.stat(uri);
  const local = await storage.localPath(object);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(local)) hash.update(chunk);
  process.stdout.write(`${hash.digest('hex')} ${Math.round(process.memoryUsage().rss / 1e6)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
