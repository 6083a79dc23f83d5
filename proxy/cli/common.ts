/**
 * Helpers shared by the commands: exit codes, reading a token argument, parsing times, and the
 * options every NATS-facing command accepts.
 */
import { text as readStream } from 'node:stream/consumers';

import { Option, type Command } from 'commander';

import { requireDuration } from '../config/duration.js';
import { RevgateError } from '../errors.js';
import type { NatsConnectionSettings } from '../revocation/nats-connection.js';
import { DEFAULT_STREAM } from '../revocation/stream.js';

/** Process exit codes of every command. */
export const EXIT = {
  ok: 0,
  /** The operation failed: revocation not stored, stream not created, config invalid. */
  failed: 1,
  /** The command line itself was wrong: unknown flag, missing argument, invalid value. */
  usage: 2,
} as const;

export interface NatsFlags {
  nats: string;
  creds?: string;
  user?: string;
  passwordFile?: string;
  tokenFile?: string;
  nkeySeedFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Adds the NATS server and credential flags that every NATS-facing command takes. */
export function addNatsOptions(command: Command): Command {
  return command
    .addOption(new Option('--nats <urls>', 'NATS server URLs, comma-separated').env('REVGATE_NATS').default('nats://127.0.0.1:4222'))
    .addOption(new Option('--creds <file>', 'NATS .creds file (user JWT and NKey seed)').env('REVGATE_NATS_CREDS'))
    .option('--user <name>', 'NATS user name; needs --password-file')
    .option('--password-file <file>', 'file holding the NATS password')
    .option('--token-file <file>', 'file holding a NATS authentication token')
    .option('--nkey-seed-file <file>', 'file holding a NATS NKey seed')
    .option('--tls-ca <file>', 'CA certificate that signed the NATS server certificate')
    .option('--tls-cert <file>', 'client certificate for NATS mutual TLS; needs --tls-key')
    .option('--tls-key <file>', 'private key of the client certificate');
}

/** Turns the NATS flags into connection settings, rejecting contradictory combinations. */
export function natsSettingsFromFlags(flags: NatsFlags): NatsConnectionSettings {
  const credentials = [flags.creds, flags.user, flags.tokenFile, flags.nkeySeedFile].filter((value) => value !== undefined);
  if (credentials.length > 1) throw new RevgateError('ERR_USAGE', 'choose one of --creds, --user, --token-file or --nkey-seed-file');
  if ((flags.user === undefined) !== (flags.passwordFile === undefined)) throw new RevgateError('ERR_USAGE', '--user and --password-file must be given together');
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new RevgateError('ERR_USAGE', '--tls-cert and --tls-key must be given together');

  const tls = flags.tlsCa || flags.tlsCert ? { ca: flags.tlsCa, cert: flags.tlsCert, key: flags.tlsKey } : undefined;
  return {
    servers: parseServers(flags.nats),
    name: 'revgate-cli',
    tls,
    user: flags.user,
    passwordFile: flags.passwordFile,
    tokenFile: flags.tokenFile,
    nkeySeedFile: flags.nkeySeedFile,
    credsFile: flags.creds,
  };
}

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
  if (/\s/.test(token)) throw new RevgateError('ERR_USAGE', 'token: expected exactly one token; revoke several with one command each');
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    throw new RevgateError('ERR_USAGE', 'token: expected a compact JWS (three base64url parts separated by dots)');
  }
  return token;
}
