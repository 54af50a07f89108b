#!/usr/bin/env node
// The meterflow command: runs the compiled CLI (npm install builds it into dist/).
const path = require('node:path');
const fs = require('node:fs');
// NOTE: the AWS SDK warns on every start that its releases after January 2027 need Node 22; meterflow
// pins its SDK version, so the warning says nothing actionable to a user of this command. The SDK's
// own switch turns it off, unless the environment already says otherwise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  console.error('meterflow: dist/ is missing; run `npm install` (or `npm run build`) in the meterflow folder first');
  process.exit(1);
}
require(entry)
  .main(process.argv)
  .catch((err) => {
    console.error(err instanceof Error ? `meterflow: ${err.message}` : err);
    process.exit(1);
  });
