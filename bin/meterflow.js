#!/usr/bin/env node
// The meterflow command: runs the compiled CLI (npm install builds it into dist/).
const path = require('node:path');
const fs = require('node:fs');
// NOTE: the AWS SDK warns on every start that its releases after January 2027 need Node 22; meterflow
// pins its SDK version, so the warning says nothing actionable to a user of this command.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  if (type === 'NodeVersionSupportWarning' || /NodeVersionSupportWarning/.test(String(warning))) return;
  emitWarning(warning, ...rest);
};
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
