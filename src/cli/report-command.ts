// `meterflow report <run-or-report-html> --pdf <file>`: print a run's report to PDF through headless Chromium.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultOutUri } from '../config';
import { findChromium, printReportPdf } from '../report/pdf';
import { parseLocation } from '../storage/uri';

/** A report.html path as given, or a run's `<out>/runs/<run>/report.html` in a local out folder. */
function reportFile(runOrFile: string, out: string): string {
  if (existsSync(runOrFile)) return runOrFile;
  const location = parseLocation(out);
  const candidate = location.kind === 'local' ? path.join(location.path, 'runs', runOrFile, 'report.html') : undefined;
  if (candidate && existsSync(candidate)) return candidate;
  throw new Error(
    `no report at ${runOrFile}${candidate ? ` nor at ${candidate}` : ''}: give a report.html file, or a run id whose report is under --out (a local folder)`,
  );
}

export function reportCommand(): Command {
  return new Command('report')
    .description("print a run's report to PDF through headless Chromium (CHROME_PATH, or /usr/bin/chromium)")
    .argument('<run-or-report-html>', 'a report.html file, or a run id whose report is in <out>/runs/<run>/')
    .requiredOption('--pdf <file>', 'the PDF file to write')
    .option('--out <dir>', "the runs' out folder, to find a run id in", defaultOutUri())
    .action(async (runOrFile: string, options: { pdf: string; out: string }) => {
      const html = reportFile(runOrFile, options.out);
      const chromium = findChromium();
      await printReportPdf(html, options.pdf, chromium);
      process.stdout.write(`pdf: ${path.resolve(options.pdf)}\n`);
    });
}
