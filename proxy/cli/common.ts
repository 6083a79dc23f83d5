/**
 * Helpers shared by the commands: exit codes, reading a token argument, parsing times, and the
 * options every NATS-facing command accepts.
 */
import { text as readStream } from 'node:stream/consumers';

import { Option } from 'commander';

import { requireDuration } from '../config/duration.js';
import { RevgateError } from '../errors.js';
import { DEFAULT_STREAM } from '../revocation/stream.js';

/** Process exit codes of every command. */
export const EXIT = {
  ok: 0,
  /** The operation failed: revocation not stored, stream not created, config invalid. */
  failed: 1,
  /** The command line itself was wrong: unknown flag, missing argument, invalid value. */
  usage: 2,
} as const;

export const natsOption = () =>
  new Option('--nats <urls>', 'NATS server URLs, comma-separated').env('REVGATE_NATS').default('nats://127.0.0.1:4222');

export const streamOption = () => new Option('--stream <name>', 'JetStream stream name').env('REVGATE_STREAM').default(DEFAULT_STREAM);

export function parseServers(text: string): string[] {
  const servers = text.split(',').map((server) => server.trim()).filter((server) => server !== '');
  for (const server of servers) {
    if (!URL.canParse(server) || !['nats:', 'tls:'].includes(new URL(server).protocol)) {
      throw new RevgateError('ERR_USAGE', `--nats "${server}": must be a nats:// or tls:// URL`);
    }
  }
  if (servers.length === 0) throw new RevgateError('ERR_USAGE', '--nats: at least one server URL is required');
  return servers;
}

export function parseDurationFlag(text: string, flag: string): number {
  try {
    return requireDuration(text, flag);
  } catch (error) {
    throw new RevgateError('ERR_USAGE', (error as Error).message);
  }
}

/**
 * Parses a point in time given as `now`, Unix seconds, or an ISO 8601 date-time with a zone
 * (`2026-12-04T10:00:00Z`). Returns Unix seconds.
 */
export function parseTime(text: string, flag: string): number {
  if (text === 'now') return Math.floor(Date.now() / 1000);
  if (/^\d{1,12}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) && !Number.isNaN(Date.parse(text))) {
    return Math.floor(Date.parse(text) / 1000);
  }
  throw new RevgateError('ERR_USAGE', `${flag} "${text}": invalid time, expected "now", Unix seconds or an ISO 8601 time with a zone such as 2026-12-04T10:00:00Z`);
}

/** Reads a token given on the command line, or from standard input when the argument is `-`. */
export async function readTokenArgument(argument: string): Promise<string> {
  const text = argument === '-' ? await readStream(process.stdin) : argument;
  const token = text.trim().replace(/^bearer\s+/i, '');
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    throw new RevgateError('ERR_USAGE', 'token: expected a compact JWS (three base64url parts separated by dots)');
  }
  return token;
}
