/**
 * NATS connection options from settings: servers, TLS files, and one credential (user and
 * password, token, NKey seed or a .creds file). Secrets live in files, which are read here, at
 * connect time, so that rotating a file needs no config change.
 */
import { readFile } from 'node:fs/promises';

import { credsAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';

import type { NatsSettings } from '../config/schema.js';
import { RevgateError } from '../errors.js';

export type NatsConnectionSettings = Pick<NatsSettings, 'servers' | 'name'> &
  Partial<Pick<NatsSettings, 'tls' | 'user' | 'passwordFile' | 'tokenFile' | 'nkeySeedFile' | 'credsFile'>>;

export async function natsConnectionOptions(settings: NatsConnectionSettings): Promise<NodeConnectionOptions> {
  const options: NodeConnectionOptions = { servers: [...settings.servers], name: settings.name };

  if (settings.tls) {
    const { ca, cert, key } = settings.tls;
    options.tls = { ...(ca ? { caFile: ca } : {}), ...(cert ? { certFile: cert } : {}), ...(key ? { keyFile: key } : {}) };
  }
  if (settings.user !== undefined && settings.passwordFile !== undefined) {
    options.user = settings.user;
    options.pass = await readSecret(settings.passwordFile, 'password');
  }
  if (settings.tokenFile !== undefined) options.token = await readSecret(settings.tokenFile, 'token');
  if (settings.nkeySeedFile !== undefined) {
    const seed = await readSecret(settings.nkeySeedFile, 'NKey seed');
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (settings.credsFile !== undefined) {
    options.authenticator = credsAuthenticator(new TextEncoder().encode(await readSecret(settings.credsFile, 'credentials')));
  }
  return options;
}

async function readSecret(file: string, what: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new RevgateError('ERR_NATS_UNAVAILABLE', `NATS ${what} file ${file}: cannot be read (${reason})`, [], { cause: error });
  }
}
