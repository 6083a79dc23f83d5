/**
 * `revgate revoke --file FILE`: revocation at incident scale. Each line of a JSON Lines file is one
 * revocation request. Lines are signed and published with many acknowledgements in flight over one
 * connection, each retried until its own deadline. Progress goes to standard error; every failure
 * is reported with its line number.
 *
 * Resuming: the line numbers JetStream acknowledged are appended to `FILE.progress`, and
 * `--resume` skips them. Event ids are derived from the file, line number and line text, so a line
 * published again after a crash carries the same message id and JetStream drops the duplicate.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

import type { Command } from 'commander';

import { RevgateError, describeError } from '../errors.js';
import { signRevocationEvent, type SigningKey } from '../revocation/event.js';
import { Publisher } from '../revocation/publisher.js';
import { loadSigningKey } from '../revocation/responder-keys.js';
import { streamFor, subjectFor } from '../revocation/stream.js';
import { addNatsOptions, natsSettingsFromFlags, parseDurationFlag, streamOption, type NatsFlags } from './common.js';
import { ProgressReporter } from './progress.js';
import { revocationRequestSchema, targetOf } from './revocation-request.js';

export interface BulkOptions extends NatsFlags {
  stream: string;
  signingKey?: string;
  reason?: string;
  actor?: string;
  timeout: string;
  inFlight: string;
  resume?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** Adds the options of a bulk revocation; they are optional because `revoke` also has subcommands. */
export function withBulkOptions(command: Command): Command {
  return addNatsOptions(command)
    .addOption(streamOption())
    .option('--signing-key <file>', 'private JWK file of the responder key (or REVGATE_SIGNING_KEY)')
    .option('--reason <text>', 'reason recorded for lines that give none')
    .option('--actor <name>', 'who makes the revocations')
    .option('--timeout <duration>', 'how long each line may be retried until JetStream acknowledges', '60s')
    .option('--in-flight <n>', 'publishes awaiting an acknowledgement at once', '512')
    .option('--resume', 'skip lines that an earlier run recorded as stored in FILE.progress')
    .option('--dry-run', 'check every line and count the revocations without publishing')
    .option('--json', 'print each failure and the summary as JSON lines');
}

interface Line {
  number: number;
  text: string;
}

interface Outcome {
  stored: number;
  failed: number;
  skipped: number;
  invalid: number;
}

/** Publishes every request of the file; throws ERR_NOT_STORED when any line was not stored. */
export async function revokeFromFile(file: string, options: BulkOptions): Promise<void> {
  const signingKeyFile = options.signingKey ?? process.env['REVGATE_SIGNING_KEY'];
  if (!options.dryRun && signingKeyFile === undefined) throw new RevgateError('ERR_USAGE', '--signing-key is required to publish');
  const inFlight = Number(options.inFlight);
  if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > 10_000) throw new RevgateError('ERR_USAGE', `--in-flight "${options.inFlight}": must be an integer from 1 to 10000`);
  const timeout = parseDurationFlag(options.timeout, '--timeout');
  const progressFile = `${file}.progress`;
  const done = options.resume ? await readProgress(progressFile) : new Set<number>();
  const total = await countLines(file);

  const signingKey = signingKeyFile === undefined ? undefined : await loadSigningKey(signingKeyFile);
  const publisher = options.dryRun ? undefined : new Publisher(natsSettingsFromFlags(options));
  const reporter = new ProgressReporter(total, process.stderr);
  const outcome: Outcome = { stored: 0, failed: 0, skipped: 0, invalid: 0 };
  const pending = new Set<Promise<void>>();
  // Each acknowledged line number is written at once, so a killed run loses at most what the
  // stream buffers in memory; a lost number only means that line is published again on resume.
  const progress = options.dryRun ? undefined : createWriteStream(progressFile, { flags: 'a' });

  try {
    for await (const line of readLines(file)) {
      if (line.text.trim() === '') continue;
      if (done.has(line.number)) {
        outcome.skipped++;
        reporter.update(outcome);
        continue;
      }
      const work = publishLine(line).then(() => reporter.update(outcome));
      pending.add(work);
      void work.finally(() => pending.delete(work));
      if (pending.size >= inFlight) await Promise.race(pending);
    }
    await Promise.all(pending);
  } finally {
    await new Promise((resolve) => (progress ? progress.end(resolve) : resolve(undefined)));
    await publisher?.close();
    reporter.finish(outcome);
  }

  report(options, { ...outcome, total, progressFile });
  if (outcome.failed + outcome.invalid > 0) {
    throw new RevgateError('ERR_NOT_STORED', `${outcome.failed + outcome.invalid} of ${total} line(s) NOT stored; fix them and rerun with --resume`);
  }

  async function publishLine(line: Line): Promise<void> {
    let target;
    try {
      const request = revocationRequestSchema.parse(JSON.parse(line.text));
      target = { target: targetOf(request), reason: request.reason ?? options.reason };
      if (target.reason === undefined) throw new RevgateError('ERR_USAGE', 'no reason: give "reason" on the line or --reason');
    } catch (error) {
      outcome.invalid++;
      reportFailure(options, line.number, `invalid request: ${describeProblem(error)}`);
      return;
    }
    if (options.dryRun || !publisher || !signingKey) {
      outcome.stored++;
      return;
    }

    const id = lineEventId(file, line);
    const payload = await signRevocationEvent({ id, target: target.target, reason: target.reason, actor: options.actor }, signingKey);
    try {
      await publisher.publish(
        { stream: streamFor(options.stream, target.target), subject: subjectFor(options.stream, target.target, id), payload, messageId: id },
        Date.now() + timeout,
      );
      outcome.stored++;
      progress?.write(`${line.number}\n`);
    } catch (error) {
      outcome.failed++;
      reportFailure(options, line.number, describeError(error));
    }
  }
}

/** Derives a stable event id (UUID layout) from the file, the line number and the line text. */
function lineEventId(file: string, line: Line): string {
  const hex = createHash('sha256').update(`${path.resolve(file)}\n${line.number}\n${line.text}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

async function* readLines(file: string): AsyncGenerator<Line> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const text of lines) yield { number: ++number, text };
}

async function countLines(file: string): Promise<number> {
  let count = 0;
  try {
    for await (const line of readLines(file)) if (line.text.trim() !== '') count++;
  } catch (error) {
    throw new RevgateError('ERR_USAGE', `--file ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? describeError(error)})`);
  }
  return count;
}

async function readProgress(file: string): Promise<Set<number>> {
  try {
    const text = await readFile(file, 'utf8');
    return new Set(text.split('\n').filter((line) => /^\d+$/.test(line)).map(Number));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw new RevgateError('ERR_USAGE', `${file}: cannot be read to resume (${(error as NodeJS.ErrnoException).code})`);
  }
}

function describeProblem(error: unknown): string {
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (Array.isArray(issues)) return issues.map((issue) => `${issue.path.join('.') || 'line'}: ${issue.message}`).join('; ');
  if (error instanceof SyntaxError) return 'not valid JSON';
  return describeError(error);
}

function reportFailure(options: BulkOptions, line: number, problem: string): void {
  if (options.json) process.stdout.write(`${JSON.stringify({ line, stored: false, error: problem })}\n`);
  else process.stderr.write(`line ${line}: NOT stored: ${problem}\n`);
}

function report(options: BulkOptions, summary: Outcome & { total: number; progressFile: string }): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ summary: { ...summary, dryRun: options.dryRun === true } })}\n`);
    return;
  }
  const verb = options.dryRun ? 'valid (dry run, nothing published)' : 'stored';
  process.stdout.write(
    `${summary.stored} of ${summary.total} ${verb}, ${summary.failed} failed, ${summary.invalid} invalid, ${summary.skipped} skipped as already stored` +
      `${options.dryRun ? '' : `; progress in ${summary.progressFile}`}\n`,
  );
}
