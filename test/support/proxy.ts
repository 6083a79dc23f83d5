/**
 * Starts a real proxy in the test process: writes a config file next to real key files, loads it
 * through the same code as `revgate serve`, and captures every log line for later inspection.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { stringify } from 'yaml';

import { loadConfig } from '../../proxy/config/load.js';
import { createLogger } from '../../proxy/observability/logger.js';
import { startGateway, type Gateway } from '../../proxy/server/gateway.js';
import { AUDIENCE, ISSUER, TestIssuer } from './issuer.js';
import { TestResponder } from './responder.js';

export interface Workspace {
  folder: string;
  issuer: TestIssuer;
  responder: TestResponder;
  /** A second responder whose key the proxies do not trust. */
  untrustedResponder: TestResponder;
  /** A responder trusted only for lifts (revocation.liftResponders). */
  liftResponder: TestResponder;
  dispose(): Promise<void>;
}

export async function createWorkspace(): Promise<Workspace> {
  const folder = await mkdtemp(path.join(tmpdir(), 'revgate-test-'));
  const issuer = await TestIssuer.create(folder);
  const responder = await TestResponder.create(folder, 'responder-1', true);
  const untrustedResponder = await TestResponder.create(folder, 'intruder', false);
  const liftResponder = await TestResponder.create(folder, 'lead', false);
  return { folder, issuer, responder, untrustedResponder, liftResponder, dispose: () => rm(folder, { recursive: true, force: true }) };
}

export interface ProxyOptions {
  upstreamUrl: string;
  /** One server URL, or several for a cluster. */
  natsUrl: string | string[];
  stream?: string;
  /** Merged over `revocation.nats`, for credentials. */
  nats?: Record<string, unknown>;
  /** Merged over `revocation`, for snapshot and staleness settings. */
  revocation?: Record<string, unknown>;
  /** Merged over the default config, one top-level key at a time. */
  overrides?: Record<string, unknown>;
}

export function defaultConfig(workspace: Workspace, options: ProxyOptions): Record<string, unknown> {
  return {
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    logLevel: 'debug',
    upstream: { url: options.upstreamUrl, headersTimeout: '1s' },
    issuers: [
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        jwks: { file: workspace.issuer.jwksFile },
        algorithms: ['ES256'],
        maxTokenLifetime: '1h',
        clockTolerance: '5s',
      },
    ],
    routes: [
      { path: '/admin', privileged: true },
      { path: '/reports', scopes: ['reports:read'] },
      { path: '/public', auth: 'none' },
      { path: '/maybe', auth: 'optional' },
      { path: '/' },
    ],
    revocation: {
      nats: { servers: [options.natsUrl].flat(), reconnectWait: '200ms', ...options.nats },
      stream: options.stream ?? 'REVGATE',
      trustedResponders: { file: workspace.responder.jwksFile },
      liftResponders: { file: workspace.liftResponder.jwksFile },
      maxStaleness: '2s',
      probeInterval: '250ms',
      ...options.revocation,
    },
    ...options.overrides,
  };
}

export interface RunningProxy extends Gateway {
  logs: string[];
}

export async function startProxy(workspace: Workspace, options: ProxyOptions, name = 'revgate.yaml'): Promise<RunningProxy> {
  const file = path.join(workspace.folder, name);
  await writeFile(file, stringify(defaultConfig(workspace, options)));
  const logs: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(line) });
  const gateway = await startGateway(await loadConfig(file), { logger });
  return Object.assign(gateway, { logs });
}

/** Polls until the check passes or the timeout ends; returns the milliseconds it took. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs}ms`);
}

/** Sends a GET through the proxy with an optional bearer token and returns status and body. */
export async function get(baseUrl: string, pathAndQuery: string, token?: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}${pathAndQuery}`, {
    headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    redirect: 'manual',
  });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body };
}

/**
 * Sends a request with node:http, which (unlike fetch) sends the path byte for byte and any header,
 * including `Connection` and repeated headers given as a flat name/value list.
 */
export function send(baseUrl: string, pathAndQuery: string, headers: string[] = [], method = 'GET') {
  const { hostname, port } = new URL(baseUrl);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    // With a header list, node:http adds no Host header of its own.
    const list = headers.some((name, index) => index % 2 === 0 && name.toLowerCase() === 'host') ? headers : ['host', `${hostname}:${port}`, ...headers];
    const request = httpRequest({ hostname, port, path: pathAndQuery, method, headers: list as unknown as Record<string, string> }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}
