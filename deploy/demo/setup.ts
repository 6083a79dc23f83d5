/**
 * Setting up the demo: nats-server, the echo upstream, the issuer, a responder key, the proxy
 * config and `revgate serve`, each on its own loopback port and registered for clean-up.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { stringify } from 'yaml';

import { httpGet, pollUntil } from './http.js';
import { ISSUER_ALGORITHM, ISSUER_KEY_ID, startIssuer, type Issuer, type MintedToken } from './issuer.js';
import { NatsServer } from './nats.js';
import { Cleanup, LoggedProcess, findFreePort, runCommand, type CommandResult } from './processes.js';
import { abbreviateToken, type Report } from './report.js';
import { startUpstream } from './upstream.js';

/** The built CLI, relative to the repository root, which is the demo's working folder. */
export const CLI = 'dist/main.js';
const AUDIENCE = 'revgate-demo';
const RESPONDER_KID = 'demo-responder';
/** Short limits, so that the outage in step 3 shows within seconds. */
export const MAX_STALENESS_MS = 3000;
export const PROBE_INTERVAL_MS = 500;
const MAX_TOKEN_LIFETIME_MS = 15 * 60_000;
export const TOKEN_LIFETIME_SECONDS = 10 * 60;
const READY_TIMEOUT_MS = 15_000;

export interface Demo {
  /** The run's folder under .demo/, holding config, keys, logs and the JetStream store. */
  folder: string;
  nats: NatsServer;
  issuer: Issuer;
  proxyUrl: string;
  adminUrl: string;
  proxyLog: string;
  signingKeyFile: string;
  alice: MintedToken;
  bob: MintedToken;
}

export async function setUp(report: Report, cleanup: Cleanup): Promise<Demo> {
  const folder = await createRunFolder();
  report.section(`setup (everything on 127.0.0.1; files in ${folder}, removed by "make clean")`);

  const nats = new NatsServer(await findFreePort(), path.join(folder, 'nats-store'), path.join(folder, 'nats.log'));
  cleanup.add('nats-server', () => nats.stop());
  await nats.start();
  report.ready('nats-server', `${nats.url} with JetStream, store ${nats.storeDir}, log ${nats.logFile}`);

  const upstream = await startUpstream();
  cleanup.add('upstream', () => upstream.close());
  report.ready('upstream', `${upstream.url}, echoes method, path and X-Auth-Subject as JSON`);

  const issuer = await startIssuer(AUDIENCE);
  cleanup.add('issuer', () => issuer.close());
  report.ready('issuer', `${issuer.issuer}, ${ISSUER_ALGORITHM} key ${ISSUER_KEY_ID}, JWKS at ${issuer.jwksUrl}`);

  const keysFolder = path.join(folder, 'keys');
  await mkdir(keysFolder);
  const respondersFile = path.join(keysFolder, 'responders.jwks.json');
  await runRevgateStep(report, ['keys', 'generate', '--kid', RESPONDER_KID, '--out', keysFolder, '--jwks', respondersFile]);
  report.ready('responder key', `${RESPONDER_KID}, trusted through ${respondersFile}`);

  const proxyPort = await findFreePort();
  const adminPort = await findFreePort();
  const configFile = path.join(folder, 'revgate.yaml');
  await writeFile(configFile, stringify(proxyConfig({ proxyPort, adminPort, upstreamUrl: upstream.url, issuer, natsUrl: nats.url })));
  await runRevgateStep(report, ['config', 'check', configFile]);
  await runRevgateStep(report, ['stream', 'init', '--config', configFile]);
  report.ready('config', `${configFile}: maxStaleness ${formatDuration(MAX_STALENESS_MS)}, probeInterval ${formatDuration(PROBE_INTERVAL_MS)}`);

  const proxyLog = path.join(folder, 'revgate.log');
  const proxy = await LoggedProcess.start('revgate serve', process.execPath, [CLI, 'serve', '--config', configFile], proxyLog);
  cleanup.add('revgate serve', () => proxy.stop());
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  report.ready('proxy', `${proxyUrl} (admin ${adminUrl}), log ${proxyLog}`);
  await waitUntilReady(report, adminUrl, proxyLog);

  const alice = await issuer.mint('alice', TOKEN_LIFETIME_SECONDS);
  const bob = await issuer.mint('bob', TOKEN_LIFETIME_SECONDS);
  report.ready('tokens', `alice ${abbreviateToken(alice.compact)} and bob ${abbreviateToken(bob.compact)}, ${TOKEN_LIFETIME_SECONDS / 60} min each`);

  return {
    folder,
    nats,
    issuer,
    proxyUrl,
    adminUrl,
    proxyLog,
    signingKeyFile: path.join(keysFolder, `${RESPONDER_KID}.private.jwk.json`),
    alice,
    bob,
  };
}

/** Creates .demo/run-<time>-<random>, so that runs never share a JetStream store or a log. */
async function createRunFolder(): Promise<string> {
  await mkdir('.demo', { recursive: true });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return mkdtemp(path.join('.demo', `run-${stamp}-`));
}

interface ConfigInputs {
  proxyPort: number;
  adminPort: number;
  upstreamUrl: string;
  issuer: Issuer;
  natsUrl: string;
}

function proxyConfig(inputs: ConfigInputs): Record<string, unknown> {
  return {
    listen: `127.0.0.1:${inputs.proxyPort}`,
    admin: `127.0.0.1:${inputs.adminPort}`,
    logLevel: 'info',
    upstream: { url: inputs.upstreamUrl },
    issuers: [
      {
        issuer: inputs.issuer.issuer,
        audience: AUDIENCE,
        jwks: { url: inputs.issuer.jwksUrl },
        algorithms: [ISSUER_ALGORITHM],
        maxTokenLifetime: formatDuration(MAX_TOKEN_LIFETIME_MS),
      },
    ],
    routes: [
      { name: 'admin', path: '/admin', privileged: true },
      { name: 'healthz', path: '/healthz', auth: 'none' },
      { name: 'default', path: '/' },
    ],
    revocation: {
      nats: { servers: [inputs.natsUrl], reconnectWait: '500ms' },
      // Relative to the config file's folder.
      trustedResponders: { file: 'keys/responders.jwks.json' },
      maxStaleness: formatDuration(MAX_STALENESS_MS),
      probeInterval: formatDuration(PROBE_INTERVAL_MS),
    },
  };
}

/** Writes milliseconds as a config duration: whole minutes or seconds when exact, else milliseconds. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds % 60_000 === 0) return `${milliseconds / 60_000}m`;
  if (milliseconds % 1000 === 0) return `${milliseconds / 1000}s`;
  return `${milliseconds}ms`;
}

/** Runs the built CLI (`node dist/main.js ARGS`) and returns its exit code and output. */
export function runRevgate(args: readonly string[], input?: string): Promise<CommandResult> {
  return runCommand(process.execPath, [CLI, ...args], { input, timeoutMs: 30_000 });
}

/** Runs a setup command, prints it with its output, and throws when it fails. */
async function runRevgateStep(report: Report, args: readonly string[]): Promise<void> {
  const result = await runRevgate(args);
  report.command(['node', CLI, ...args], result.stderr + result.stdout);
  if (result.exitCode !== 0) throw new Error(`"node ${CLI} ${args.slice(0, 2).join(' ')}" failed with exit code ${result.exitCode}`);
}

async function waitUntilReady(report: Report, adminUrl: string, proxyLog: string): Promise<void> {
  const outcome = await pollUntil(() => httpGet(`${adminUrl}/readyz`), (result) => result.status === 200, {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 100,
  });
  if (!outcome.done) {
    const last = outcome.last === undefined ? outcome.lastError : `status ${outcome.last.status}`;
    throw new Error(`admin /readyz did not return 200 within ${READY_TIMEOUT_MS} ms (last: ${last}); see ${proxyLog}`);
  }
  report.ready('ready', `admin /readyz -> 200 after ${outcome.elapsedMs} ms`);
}
