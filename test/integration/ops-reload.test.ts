/**
 * Config reload on a running proxy under steady load. A valid config replaces routes, issuer keys
 * and responder keys at once, and invalid configs keep the old one running. No request fails either way.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { stringify } from 'yaml';

import { AUDIENCE, ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { createWorkspace, defaultConfig, eventually, get, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

const CONFIG_NAME = 'reload.yaml';
/** Bounds of every load run: whichever is reached first stops it. */
const LOAD_WORKERS = 4;
const LOAD_MAX_REQUESTS = 4000;
const LOAD_MAX_MS = 20_000;

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
let proxy: RunningProxy;
let configFile: string;
let steadyToken: string;

/** A second issuer key, added to the issuer's JWKS by a reload. */
let rotatedKey: CryptoKey;
let rotatedJwksFile: string;

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
  proxy = await startProxy(workspace, proxyOptions({ catchAll: 'all-v1' }), CONFIG_NAME);
  configFile = path.join(workspace.folder, CONFIG_NAME);
  await eventually(async () => proxy.replica.synced(), 10_000);
  steadyToken = await workspace.issuer.token({ claims: { exp: Math.floor(Date.now() / 1000) + 600 } });
  await prepareRotatedKey();
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

interface ConfigChanges {
  catchAll: string;
  extraRoute?: boolean;
  issuerJwks?: string;
  trustedResponders?: string;
  adminReload?: boolean;
  upstreamConnections?: number;
}

function proxyOptions(changes: ConfigChanges) {
  return {
    upstreamUrl: upstream.url,
    natsUrl: nats.url,
    revocation: changes.trustedResponders ? { trustedResponders: { file: changes.trustedResponders } } : {},
    overrides: {
      // The in-flight test needs the upstream's 2-second /slow response to arrive, not time out.
      upstream: { url: upstream.url, headersTimeout: '5s', ...(changes.upstreamConnections ? { connections: changes.upstreamConnections } : {}) },
      adminReload: changes.adminReload ?? true,
      routes: [
        { path: '/admin', privileged: true },
        ...(changes.extraRoute ? [{ path: '/new-route', auth: 'none', name: 'new-route' }] : []),
        { path: '/', name: changes.catchAll },
      ],
    },
  };
}

/** Writes the proxy's config file as `changes` describe it. */
async function writeConfig(changes: ConfigChanges): Promise<void> {
  const config = defaultConfig(workspace, proxyOptions(changes)) as { issuers: Record<string, unknown>[] };
  if (changes.issuerJwks) config.issuers[0]!['jwks'] = { file: changes.issuerJwks };
  await writeFile(configFile, stringify(config));
}

async function prepareRotatedKey(): Promise<void> {
  const pair = await generateKeyPair('ES256');
  rotatedKey = pair.privateKey;
  const current = JSON.parse(await readFile(workspace.issuer.jwksFile, 'utf8')) as { keys: unknown[] };
  const added = { ...(await exportJWK(pair.publicKey)), kid: 'issuer-key-2', alg: 'ES256', use: 'sig' };
  rotatedJwksFile = path.join(workspace.folder, 'issuer-rotated.jwks.json');
  await writeFile(rotatedJwksFile, JSON.stringify({ keys: [...current.keys, added] }));
}

function rotatedToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'rotated-user', jti: randomUUID(), iat: now, exp: now + 300 })
    .setProtectedHeader({ alg: 'ES256', kid: 'issuer-key-2', typ: 'JWT' })
    .sign(rotatedKey);
}

async function postReload(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${proxy.adminUrl}/reload`, { method: 'POST' });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function metricValue(series: string): Promise<number> {
  const body = (await get(proxy.adminUrl, '/metrics')).body;
  const line = body.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

interface LoadResult {
  requests: number;
  failures: string[];
}

/**
 * Sends GET /orders with a valid token from several workers while `during` runs, and stops when it
 * resolves or a bound is reached. Every response other than 200 is a failure.
 */
async function underLoad(during: () => Promise<void>): Promise<LoadResult> {
  const result: LoadResult = { requests: 0, failures: [] };
  const started = Date.now();
  let done = false;
  const worker = async () => {
    while (!done && result.requests < LOAD_MAX_REQUESTS && Date.now() - started < LOAD_MAX_MS) {
      result.requests++;
      try {
        const response = await get(proxy.proxyUrl, '/orders', steadyToken);
        if (response.status !== 200) result.failures.push(`${response.status} ${response.body}`);
      } catch (error) {
        result.failures.push(String(error));
      }
    }
  };
  const workers = Array.from({ length: LOAD_WORKERS }, worker);
  // Some requests run before the change, so that the reload happens mid-load.
  await eventually(async () => result.requests >= 20, 5000, 5);
  try {
    await during();
  } finally {
    const before = result.requests;
    await eventually(async () => result.requests >= before + 20 || Date.now() - started >= LOAD_MAX_MS, LOAD_MAX_MS, 5);
    done = true;
    await Promise.all(workers);
  }
  return result;
}

describe('reload under load', () => {
  test('valid config swaps routes and keys', async () => {
    const newKeyToken = await rotatedToken();
    assert.equal((await get(proxy.proxyUrl, '/orders', newKeyToken)).status, 401, 'unknown key before the reload');
    assert.equal((await get(proxy.proxyUrl, '/new-route/x')).status, 401, 'catch-all needs a token before the reload');
    const digestBefore = ((await get(proxy.adminUrl, '/status')).body.match(/"configDigest":"(\w+)"/) ?? [])[1];

    let outcome: { status: number; body: Record<string, unknown> } | undefined;
    const load = await underLoad(async () => {
      await writeConfig({ catchAll: 'all-v2', extraRoute: true, issuerJwks: rotatedJwksFile });
      outcome = await postReload();
    });

    assert.deepEqual(load.failures, []);
    assert.ok(load.requests >= 40, `load ran ${load.requests} requests`);
    assert.equal(outcome?.status, 200, JSON.stringify(outcome?.body));
    assert.equal(outcome?.body['result'], 'success');
    assert.notEqual(outcome?.body['configDigest'], digestBefore);
    assert.equal((await get(proxy.proxyUrl, '/orders', newKeyToken)).status, 200, 'new issuer key accepted');
    assert.equal((await get(proxy.proxyUrl, '/new-route/x')).status, 200, 'new route applied');
    assert.equal((await get(proxy.proxyUrl, '/orders', steadyToken)).status, 200, 'old key still accepted');
    assert.equal(await metricValue('revgate_config_reloads_total{result="success"}'), 1);
    assert.equal(await metricValue('revgate_config_last_reload_successful'), 1);
    assert.ok(proxy.logs.some((line) => line.includes('"config reloaded')));
  });

  test('invalid config keeps the old one', async () => {
    let outcome: { status: number; body: Record<string, unknown> } | undefined;
    const load = await underLoad(async () => {
      await writeFile(
        configFile,
        stringify({ ...defaultConfig(workspace, proxyOptions({ catchAll: 'broken' })), routes: [{ path: 'no-slash' }, { path: '/' }], bogusField: 1 }),
      );
      outcome = await postReload();
    });

    assert.deepEqual(load.failures, []);
    assert.equal(outcome?.status, 422);
    assert.equal(outcome?.body['result'], 'failure');
    const problems = outcome?.body['problems'] as string[];
    assert.ok(problems.some((problem) => problem.includes('bogusField')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.includes('routes[0].path "no-slash"')), problems.join('\n'));
    assert.equal((await get(proxy.proxyUrl, '/new-route/x')).status, 200, 'previous routes still run');
    assert.equal(await metricValue('revgate_config_reloads_total{result="failure"}'), 1);
    assert.equal(await metricValue('revgate_config_last_reload_successful'), 0);

    const logged = proxy.logs.map((line) => JSON.parse(line) as { msg: string; problems?: string[] }).find((line) => line.msg.startsWith('config reload failed'));
    assert.ok(logged, 'failure logged');
    assert.deepEqual(logged.problems, problems, 'the log line lists every problem');

    const status = JSON.parse((await get(proxy.adminUrl, '/status')).body) as { config: { lastReload: { result: string; problems: string[] } } };
    assert.equal(status.config.lastReload.result, 'failure');
    assert.deepEqual(status.config.lastReload.problems, problems);
  });

  test('unreadable keys keep the old config', async () => {
    const load = await underLoad(async () => {
      await writeConfig({ catchAll: 'all-v2', extraRoute: true, issuerJwks: path.join(workspace.folder, 'missing.jwks.json') });
      const outcome = await postReload();
      assert.equal(outcome.status, 422);
      assert.ok((outcome.body['problems'] as string[]).some((problem) => problem.includes('issuers[0].jwks') && problem.includes('ENOENT')));
    });
    assert.deepEqual(load.failures, []);
    assert.equal((await get(proxy.proxyUrl, '/orders', await rotatedToken())).status, 200, 'rotated key still accepted');
    assert.equal(await metricValue('revgate_config_reloads_total{result="failure"}'), 2);
  });
});

describe('reload semantics', () => {
  test('in-flight request keeps its route', async () => {
    await writeConfig({ catchAll: 'all-v2', extraRoute: true, issuerJwks: rotatedJwksFile });
    assert.equal((await proxy.reload('SIGHUP')).result, 'success');

    const slow = get(proxy.proxyUrl, '/slow', steadyToken);
    await eventually(async () => upstream.seen.some((request) => request.url === '/slow'), 2000, 10);
    await writeConfig({ catchAll: 'all-v3', extraRoute: true, issuerJwks: rotatedJwksFile });
    assert.equal((await proxy.reload('SIGHUP')).result, 'success');
    assert.equal((await get(proxy.proxyUrl, '/orders', steadyToken)).status, 200);
    assert.equal((await slow).status, 200);

    const lines = proxy.logs.map((line) => JSON.parse(line) as { msg: string; path?: string; route?: string });
    assert.equal(lines.find((line) => line.msg === 'request' && line.path === '/slow')?.route, 'all-v2');
    assert.equal(lines.findLast((line) => line.msg === 'request' && line.path === '/orders')?.route, 'all-v3');
  });

  test('responder keys are replaced', async () => {
    const forgedJti = `responder-${randomUUID()}`;
    const token = await workspace.issuer.token({ claims: { jti: forgedJti } });
    const rejectedBefore = await metricValue('revgate_revocation_events_total{result="rejected",reason="untrusted_key"}');
    await workspace.untrustedResponder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: forgedJti });
    await eventually(async () => (await metricValue('revgate_revocation_events_total{result="rejected",reason="untrusted_key"}')) === (rejectedBefore || 0) + 1, 5000);
    assert.equal((await get(proxy.proxyUrl, '/orders', token)).status, 200, 'untrusted responder ignored');

    const both = path.join(workspace.folder, 'responders-both.jwks.json');
    const keys = await Promise.all([workspace.responder.jwksFile, workspace.untrustedResponder.jwksFile].map(async (file) => (JSON.parse(await readFile(file, 'utf8')) as { keys: unknown[] }).keys));
    await writeFile(both, JSON.stringify({ keys: keys.flat() }));
    await writeConfig({ catchAll: 'all-v3', extraRoute: true, issuerJwks: rotatedJwksFile, trustedResponders: both });
    assert.equal((await proxy.reload('SIGHUP')).result, 'success');

    const trustedJti = `responder-${randomUUID()}`;
    const later = await workspace.issuer.token({ claims: { jti: trustedJti } });
    await workspace.untrustedResponder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: trustedJti });
    await eventually(async () => (await get(proxy.proxyUrl, '/orders', later)).status === 401, 5000);
  });

  test('restart-only change is reported', async () => {
    await writeConfig({ catchAll: 'all-v3', extraRoute: true, issuerJwks: rotatedJwksFile, upstreamConnections: 7 });
    const outcome = await proxy.reload('SIGHUP');
    assert.equal(outcome.result, 'success');
    assert.deepEqual(outcome.restartRequired, ['upstream.connections']);
    const warning = proxy.logs.map((line) => JSON.parse(line) as { msg: string; fields?: string[]; level: string }).findLast((line) => line.msg.startsWith('config fields changed'));
    assert.equal(warning?.level, 'warn');
    assert.deepEqual(warning?.fields, ['upstream.connections']);
    const status = JSON.parse((await get(proxy.adminUrl, '/status')).body) as { config: { restartRequired: string[] } };
    assert.deepEqual(status.config.restartRequired, ['upstream.connections']);
  });

  test('adminReload false disables POST', async () => {
    await writeConfig({ catchAll: 'all-v3', extraRoute: true, issuerJwks: rotatedJwksFile, adminReload: false });
    assert.equal((await proxy.reload('SIGHUP')).result, 'success');
    const response = await postReload();
    assert.equal(response.status, 403);
    assert.equal(response.body['error'], 'reload_disabled');
    assert.equal((await fetch(`${proxy.adminUrl}/reload`)).status, 405);
  });
});
