/**
 * Logs and admin responses of a running proxy: credentials are redacted, no token or claim beyond
 * iss, kid and jti leaks into a log line or an admin response, allowed requests can be sampled,
 * repeated warnings are rate limited, and lifecycle lines survive a quiet log level.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { stringify } from 'yaml';

import { loadConfig } from '../../proxy/config/load.js';
import { createLogger } from '../../proxy/observability/logger.js';
import { RepeatLimiter } from '../../proxy/observability/repeat-limiter.js';
import { startGateway } from '../../proxy/server/gateway.js';
import { AUDIENCE, ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { freePort } from '../support/ports.js';
import { createWorkspace, defaultConfig, eventually, get, send, startProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
});

after(async () => {
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

type LogLine = { level: string; msg: string; [field: string]: unknown };
const parseLines = (lines: string[]) => lines.map((line) => JSON.parse(line) as LogLine);

describe('redaction', () => {
  test('logger redacts credential fields', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const secrets = {
      authorization: 'Bearer secret-a1',
      Authorization: 'Bearer secret-a2',
      cookie: 'session=secret-c1',
      'set-cookie': ['session=secret-s1'],
      'proxy-authorization': 'Basic secret-p1',
      token: 'secret-t1',
    };
    logger.info(secrets, 'top level');
    logger.child({ component: 'test' }).warn({ headers: secrets }, 'one level down');
    logger.error({ request: { headers: secrets } }, 'two levels down');

    assert.equal(lines.length, 3);
    for (const line of lines) {
      assert.doesNotMatch(line, /secret-/, line);
      assert.match(line, /\[redacted\]/);
    }
  });

  test('no token or claim leaks', async () => {
    const proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }, 'redaction.yaml');
    try {
      await eventually(async () => proxy.replica.synced(), 10_000);
      const subject = 'subject-that-must-not-leak';
      const claimValue = 'claim-value-that-must-not-leak';
      const tokens = await Promise.all([
        workspace.issuer.token({ claims: { sub: subject, email: claimValue } }),
        workspace.issuer.token({ claims: { sub: subject, jti: 'revoked-for-redaction' } }),
        workspace.issuer.token({ claims: { sub: subject }, untrusted: true }),
        workspace.issuer.token({ claims: { sub: subject, exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 900 } }),
      ]);
      const [valid, revoked, forged, expired] = tokens as [string, string, string, string];
      await workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: 'revoked-for-redaction' });
      await eventually(async () => (await get(proxy.proxyUrl, '/orders', revoked)).status === 401, 5000);

      const cookie = 'session=cookie-value-that-must-not-leak';
      const answers = [
        await get(proxy.proxyUrl, '/orders', valid, { cookie }),
        await get(proxy.proxyUrl, '/admin', valid),
        await get(proxy.proxyUrl, '/orders', forged),
        await get(proxy.proxyUrl, '/orders', expired),
        await get(proxy.proxyUrl, `/orders?access_token=${valid}`),
        await send(proxy.proxyUrl, '/orders', ['authorization', `Bearer ${valid}`, 'authorization', `Bearer ${revoked}`]),
        await send(proxy.proxyUrl, '/orders', ['proxy-authorization', `Bearer ${valid}`, 'authorization', `Bearer ${valid}`]),
      ];
      assert.deepEqual(answers.map((answer) => answer.status), [200, 200, 401, 401, 400, 400, 200]);

      const explain = await fetch(`${proxy.adminUrl}/explain`, { method: 'POST', body: JSON.stringify({ token: valid, path: '/orders' }) });
      const adminBodies = [
        await explain.text(),
        ...(await Promise.all(['/status', '/metrics', '/readyz', '/healthz', '/revocations'].map(async (adminPath) => (await get(proxy.adminUrl, adminPath)).body))),
      ];
      assert.equal(explain.status, 200);

      const forbidden = [subject, claimValue, 'cookie-value-that-must-not-leak', ...tokens.flatMap((token) => token.split('.'))];
      for (const text of [...proxy.logs, ...adminBodies]) {
        for (const value of forbidden) assert.ok(!text.includes(value), `"${value.slice(0, 24)}..." leaked in: ${text.slice(0, 300)}`);
      }
      const requestLines = parseLines(proxy.logs).filter((line) => line.msg === 'request');
      assert.ok(requestLines.some((line) => line['jti'] === 'revoked-for-redaction' && line['iss'] === ISSUER && line['kid'] === 'issuer-key-1'), 'iss, kid and jti are logged');
    } finally {
      await proxy.close();
    }
  });
});

describe('access log sampling', () => {
  test('rate 0 logs only rejections', async () => {
    const proxy = await startProxy(
      workspace,
      { upstreamUrl: upstream.url, natsUrl: nats.url, overrides: { logging: { accessLogSampleRate: 0 } } },
      'sampled.yaml',
    );
    try {
      const token = await workspace.issuer.token();
      for (let index = 0; index < 5; index++) assert.equal((await get(proxy.proxyUrl, '/orders', token)).status, 200);
      for (let index = 0; index < 3; index++) assert.equal((await get(proxy.proxyUrl, '/orders')).status, 401);

      const requestLines = parseLines(proxy.logs).filter((line) => line.msg === 'request');
      assert.equal(requestLines.filter((line) => line['decision'] === 'allowed').length, 0);
      assert.equal(requestLines.filter((line) => line['reason'] === 'missing_token').length, 3);
      assert.match((await get(proxy.adminUrl, '/metrics')).body, /^revgate_requests_total\{route="\/",decision="allowed",reason="ok"\} 5$/m);
    } finally {
      await proxy.close();
    }
  });

  test('rate outside 0..1 is rejected', async () => {
    const file = path.join(workspace.folder, 'bad-rate.yaml');
    await writeFile(file, stringify({ ...defaultConfig(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }), logging: { accessLogSampleRate: 1.5 } }));
    await assert.rejects(loadConfig(file), (error: Error & { details?: string[] }) => {
      assert.ok(error.details?.some((detail) => detail.includes('logging.accessLogSampleRate 1.5: must be between 0 and 1')), String(error.details));
      return true;
    });
  });
});

describe('repeated warnings', () => {
  test('limiter counts dropped lines', () => {
    let now = 0;
    const limiter = new RepeatLimiter(1000, () => now);
    assert.equal(limiter.admit('a'), 0);
    assert.equal(limiter.admit('a'), undefined);
    assert.equal(limiter.admit('a'), undefined);
    assert.equal(limiter.admit('b'), 0, 'keys are independent');
    now = 999;
    assert.equal(limiter.admit('a'), undefined);
    now = 1000;
    assert.equal(limiter.admit('a'), 3);
    assert.equal(limiter.admit('a'), undefined);
  });

  test('issuer keys unavailable logged once', async () => {
    const remoteIssuer = 'https://remote-idp.test.revgate';
    const closedPort = await freePort();
    const base = defaultConfig(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url });
    const issuers = [
      ...(base['issuers'] as unknown[]),
      {
        issuer: remoteIssuer,
        audience: AUDIENCE,
        jwks: { url: `http://127.0.0.1:${closedPort}/jwks.json`, timeout: '500ms' },
        algorithms: ['ES256'],
        maxTokenLifetime: '1h',
      },
    ];
    const proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, overrides: { issuers } }, 'remote-keys.yaml');
    try {
      const token = await workspace.issuer.token({ claims: { iss: remoteIssuer } });
      for (let index = 0; index < 10; index++) {
        const answer = await get(proxy.proxyUrl, '/orders', token);
        assert.equal(answer.status, 503);
        assert.equal(JSON.parse(answer.body).error, 'keys_unavailable');
      }
      const warnings = parseLines(proxy.logs).filter((line) => line.msg === 'issuer keys unavailable');
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.level, 'warn');
      assert.match(String(warnings[0]?.['err']), /remote-idp\.test\.revgate/);
      assert.match((await get(proxy.adminUrl, '/metrics')).body, /^revgate_jwt_verification_duration_seconds_count\{result="keys_unavailable"\} 10$/m);
    } finally {
      await proxy.close();
    }
  });
});

describe('lifecycle lines', () => {
  test('logged at log level error', async () => {
    const file = path.join(workspace.folder, 'quiet.yaml');
    await writeFile(file, stringify({ ...defaultConfig(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }), logLevel: 'error' }));
    const lines: string[] = [];
    const logger = createLogger('error', { write: (line: string) => void lines.push(line) });
    const gateway = await startGateway(await loadConfig(file), { logger });
    try {
      await eventually(async () => gateway.replica.synced(), 10_000);
      assert.equal((await get(gateway.proxyUrl, '/orders', await workspace.issuer.token())).status, 200);
      assert.equal((await gateway.reload('SIGHUP')).result, 'success');

      await nats.stop('SIGKILL');
      await nats.launch();
      await eventually(async () => lines.some((line) => line.includes('reconnected to NATS')), 15_000, 100);
    } finally {
      await gateway.close();
    }

    const messages = parseLines(lines).map((line) => line.msg);
    for (const message of ['revgate started', 'reloading config', 'disconnected from NATS; reconnecting', 'reconnected to NATS', 'revgate stopped']) {
      assert.ok(messages.some((candidate) => candidate.startsWith(message)), `"${message}" missing from ${JSON.stringify(messages)}`);
    }
    assert.ok(messages.some((candidate) => candidate.startsWith('config reloaded')));
    assert.ok(!messages.includes('request'), 'access lines follow the configured level');
  });
});
