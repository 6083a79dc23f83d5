/**
 * The servers of the HTTP benchmark, each in its own process on 127.0.0.1: the plain upstream and
 * `revgate serve`, both from the tsc output next to this file, with the config the benchmark writes.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import { stringify } from 'yaml';

import { AUDIENCE, ISSUER } from '../support/issuer.js';
import type { Workspace } from '../support/proxy.js';
import { ServerProcess } from './processes.js';

const MAIN = fileURLToPath(new URL('../../proxy/main.js', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('./upstream-server.js', import.meta.url));

/** Maximum token lifetime of the benchmark issuer, so that tokens signed at the start outlive the run. */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;

export interface RunningServer {
  url: string;
  process: ServerProcess;
}

export async function startUpstream(folder: string): Promise<RunningServer> {
  const child = await ServerProcess.start('upstream', process.execPath, [UPSTREAM], path.join(folder, 'upstream.log'));
  const line = await child.waitForLogLine((text) => text.startsWith('listening on '), 15_000);
  return { url: `http://127.0.0.1:${line.slice('listening on '.length).trim()}`, process: child };
}

/**
 * Returns the config of every benchmark proxy: defaults everywhere (log level `info` with an
 * access-log line per request, verification cache on), one catch-all route that requires a token.
 */
export function benchConfig(workspace: Workspace, options: { upstreamUrl: string; natsUrl: string; stream: string }): Record<string, unknown> {
  return {
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    logLevel: 'info',
    upstream: { url: options.upstreamUrl },
    issuers: [
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        jwks: { file: workspace.issuer.jwksFile },
        algorithms: ['ES256'],
        maxTokenLifetime: `${MAX_TOKEN_LIFETIME_SECONDS}s`,
        clockTolerance: '30s',
      },
    ],
    routes: [{ path: '/' }],
    revocation: {
      nats: { servers: [options.natsUrl] },
      stream: options.stream,
      trustedResponders: { file: workspace.responder.jwksFile },
    },
  };
}

export interface RunningProxy extends RunningServer {
  adminUrl: string;
}

/** Writes the config and starts `revgate serve` on it; resolves once its listeners are bound. */
export async function startRevgate(workspace: Workspace, name: string, config: Record<string, unknown>): Promise<RunningProxy> {
  const configFile = path.join(workspace.folder, `${name}.yaml`);
  await writeFile(configFile, stringify(config));
  const args = [MAIN, 'serve', '--config', configFile];
  const child = await ServerProcess.start(name, process.execPath, args, path.join(workspace.folder, `${name}.log`));
  const line = await child.waitForLogLine((text) => text.includes('"msg":"revgate started"'), 30_000);
  const started = JSON.parse(line) as { listen: string; admin: string };
  return { url: started.listen, adminUrl: started.admin, process: child };
}

interface StatusDocument {
  synced: boolean;
  appliedSequence: number;
  entries: Record<string, number>;
}

/** Polls `/status` until the replica is in sync and has `entries` revocations; returns the status. */
export async function waitForEntries(proxy: RunningProxy, entries: number, timeoutMs: number): Promise<StatusDocument> {
  const deadline = Date.now() + timeoutMs;
  let last: StatusDocument | undefined;
  while (Date.now() < deadline) {
    const response = await fetch(`${proxy.adminUrl}/status`);
    last = (await response.json()) as StatusDocument;
    const total = Object.values(last.entries).reduce((sum, count) => sum + count, 0);
    if (last.synced && total === entries) return last;
    await delay(100);
  }
  throw new Error(`${proxy.process.name}: replica did not reach ${entries} entries within ${timeoutMs} ms; last status: ${JSON.stringify(last)}`);
}

/** Sends one request and throws unless it gets 200, so that no load run measures rejections. */
export async function expectOk(url: string, token: string): Promise<void> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}, expected 200: ${body}`);
}

export interface CacheCounts {
  hits: number;
  misses: number;
}

/** Reads the verification cache counters from the proxy's `/metrics`. */
export async function readCacheCounts(adminUrl: string): Promise<CacheCounts> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const counter = (name: string) => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
    if (line === undefined) throw new Error(`${adminUrl}/metrics has no ${name}`);
    return Number(line.slice(name.length + 1));
  };
  return { hits: counter('revgate_verification_cache_hits_total'), misses: counter('revgate_verification_cache_misses_total') };
}
