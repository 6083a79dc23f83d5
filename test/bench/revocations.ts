/**
 * Filling a revocation stream for the benchmark: a JSON Lines file of revocation requests, published
 * with `revgate revoke --file`, the command a responder runs during an incident.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { ISSUER } from '../support/issuer.js';
import { runCommand, tail } from './processes.js';

const MAIN = fileURLToPath(new URL('../../proxy/main.js', import.meta.url));

/**
 * Writes `count` revocation requests for the test issuer: 8 in 10 revoke one token by `jti`, 1 in
 * 10 a subject and 1 in 10 a session, all issued before now. None matches the benchmark tokens,
 * whose `sub`, `sid` and `jti` values never start with `revoked-`. All of them are time-bound, so
 * they all go to the main stream.
 */
export async function writeRevocationRequests(file: string, count: number): Promise<void> {
  const lines: string[] = [];
  for (let index = 0; index < count; index++) {
    const kind = index % 10;
    const request =
      kind === 8
        ? { kind: 'subject', issuer: ISSUER, sub: `revoked-user-${index}`, before: 'now' }
        : kind === 9
          ? { kind: 'session', issuer: ISSUER, sid: `revoked-session-${index}`, before: 'now' }
          : { kind: 'jti', issuer: ISSUER, jti: `revoked-token-${index}` };
    lines.push(JSON.stringify(request));
  }
  await writeFile(file, `${lines.join('\n')}\n`);
}

export interface PublishOutcome {
  stored: number;
  seconds: number;
}

/** Publishes every line of `file` to `stream` with `revgate revoke --file`; throws unless all were stored. */
export async function publishRevocations(file: string, options: { natsUrl: string; stream: string; signingKeyFile: string; timeoutMs: number }): Promise<PublishOutcome> {
  const started = performance.now();
  const args = [
    MAIN, 'revoke', '--file', file,
    '--signing-key', options.signingKeyFile, '--nats', options.natsUrl, '--stream', options.stream,
    '--reason', 'benchmark', '--actor', 'bench', '--json',
  ];
  const result = await runCommand(process.execPath, args, options.timeoutMs);
  const seconds = (performance.now() - started) / 1000;
  const summaryLine = result.stdout.trim().split('\n').find((line) => line.includes('"summary"'));
  const summary = summaryLine === undefined ? undefined : (JSON.parse(summaryLine) as { summary: { stored: number; total: number } }).summary;
  if (result.code !== 0 || summary === undefined || summary.stored !== summary.total) {
    throw new Error(`revgate revoke --file ${file} failed (exit code ${result.code}):\n${tail(result.stdout)}\n${tail(result.stderr)}`);
  }
  return { stored: summary.stored, seconds };
}
