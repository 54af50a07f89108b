#!/usr/bin/env node
// The meterflow command: runs the compiled CLI (npm install builds it into dist/).
const path = require('node:path');
const fs = require('node:fs');
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
