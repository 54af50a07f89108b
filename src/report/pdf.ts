// The run report printed to PDF by headless Chromium (found at CHROME_PATH or a usual install path).
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Where Chromium is looked for when CHROME_PATH is not set. */
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** No Chromium to print with: the message says where it looked and how to point at one. */
export class ChromiumNotFoundError extends Error {
  constructor(readonly lookedAt: readonly string[]) {
    super(
      `no Chromium found to print the PDF with (looked at ${lookedAt.join(', ')}): install chromium, or set CHROME_PATH to a Chromium or Chrome executable`,
    );
    this.name = 'ChromiumNotFoundError';
  }
}

/** The Chromium executable: CHROME_PATH when set (and then only it), else the first usual path that exists. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = env.CHROME_PATH ? [env.CHROME_PATH] : CHROMIUM_PATHS;
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new ChromiumNotFoundError(candidates);
  return found;
}

/** Print a report HTML file to a PDF file (A4, backgrounds on, the report's print CSS breaking pages between sections). */
export async function printReportPdf(htmlFile: string, pdfFile: string, executablePath: string): Promise<void> {
  // NOTE: loaded here, not at the top, so other commands don't pay for playwright-core
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${path.resolve(htmlFile)}`, { waitUntil: 'load' });
    await page.emulateMedia({ media: 'print' });
    await page.pdf({
      path: pdfFile,
      format: 'A4',
      printBackground: true,
      margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' },
    });
  } finally {
    await browser.close();
  }
}
