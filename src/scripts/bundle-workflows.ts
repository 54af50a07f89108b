// Build step: bundle the workflow code once, so workers start without running webpack.
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

async function run(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: undefined });
  const target = path.join(__dirname, '..', 'workflow-bundle.js');
  await writeFile(target, code);
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
