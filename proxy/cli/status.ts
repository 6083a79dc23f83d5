/**
 * `revgate status`: reads a running proxy's admin `/status` and prints a summary (readiness,
 * staleness, stream positions, entries, NATS, config), the raw JSON with `--json`, or a summary
 * refreshed every INTERVAL with `--watch`.
 */
import { setTimeout as delay } from 'node:timers/promises';

import { Command } from 'commander';

import { RevgateError, describeError } from '../errors.js';
import type { StatusDocument } from '../server/status.js';
import { adminOption, requestAdmin } from './admin-client.js';
import { parseDurationFlag } from './common.js';
import { formatStatus } from './status-format.js';

const DEFAULT_WATCH_INTERVAL = '2s';

/** Clears a terminal screen and moves the cursor home (ANSI ED and CUP). */
const CLEAR_SCREEN = '\x1b[2J\x1b[H';

interface StatusOptions {
  admin: string;
  json?: boolean;
  watch?: string | true;
}

export function statusCommand(): Command {
  return new Command('status')
    .description("show a running proxy's replica staleness, stream position, entries and NATS connection")
    .addOption(adminOption())
    .option('--json', 'print the /status document as JSON (one line per refresh with --watch)')
    .option('--watch [interval]', `refresh every INTERVAL, a duration such as 500ms or 5s (default ${DEFAULT_WATCH_INTERVAL}), until interrupted`)
    .addHelpText('after', '\nExamples:\n  revgate status\n  revgate status --admin http://10.0.0.7:9901 --json\n  revgate status --watch 1s')
    .action(async (options: StatusOptions) => {
      if (options.watch === undefined) {
        printStatus(await fetchStatus(options.admin), options);
        return;
      }
      const interval = parseDurationFlag(options.watch === true ? DEFAULT_WATCH_INTERVAL : options.watch, '--watch');
      await watchStatus(options, interval);
    });
}

/** Prints the status every `intervalMs` until the process is interrupted; an unreachable proxy is reported and retried. */
async function watchStatus(options: StatusOptions, intervalMs: number): Promise<never> {
  for (;;) {
    try {
      const status = await fetchStatus(options.admin);
      if (!options.json && process.stdout.isTTY) process.stdout.write(CLEAR_SCREEN);
      printStatus(status, options);
    } catch (error) {
      process.stderr.write(`error: ${describeError(error)}; retrying every ${intervalMs}ms\n`);
    }
    if (!options.json && !process.stdout.isTTY) process.stdout.write('\n');
    await delay(intervalMs);
  }
}

async function fetchStatus(adminUrl: string): Promise<StatusDocument> {
  const { status, body } = await requestAdmin(adminUrl, '/status');
  if (status !== 200) throw new RevgateError('ERR_NATS_UNAVAILABLE', `admin API ${adminUrl}/status responded with status ${status}: ${JSON.stringify(body)}`);
  if (!isStatusDocument(body)) {
    throw new RevgateError('ERR_NATS_UNAVAILABLE', `admin API ${adminUrl}/status did not return a revgate status document; is --admin the admin listener of revgate serve?`);
  }
  return body;
}

function printStatus(status: StatusDocument, options: StatusOptions): void {
  process.stdout.write(options.json ? `${JSON.stringify(status)}\n` : formatStatus(status, options.admin, Date.now()));
}

function isStatusDocument(body: unknown): body is StatusDocument {
  if (body === null || typeof body !== 'object') return false;
  const document = body as Partial<StatusDocument>;
  return typeof document.version === 'string' && Array.isArray(document.streams) && typeof document.config === 'object';
}
