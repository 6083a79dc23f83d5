/**
 * Revocation end to end: events published to a real nats-server, a proxy replicating them, and
 * real tokens checked against the replica.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

import { subjectFor } from '../../proxy/revocation/stream.js';
import { ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { createWorkspace, eventually, get, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { runCli } from '../support/cli.js';
import { TestUpstream } from '../support/upstream.js';

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
let proxy: RunningProxy;

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url });
  await eventually(async () => proxy.replica.synced(), 10_000);
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

const statusOf = async (token: string, path = '/orders', target = proxy) => (await get(target.proxyUrl, path, token)).status;

/** Waits until the token is rejected and returns how long that took after the publish returned. */
async function rejectedWithin(token: string, timeoutMs: number): Promise<number> {
  return eventually(async () => (await statusOf(token)) === 401, timeoutMs, 20);
}

describe('revocation', () => {
  test('jti revocation rejects within a second', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'jti-user', jti: 'jti-1' } });
    const bystander = await workspace.issuer.token({ claims: { sub: 'jti-user', jti: 'jti-2' } });
    assert.equal(await statusOf(token), 200);

    const id = await workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: 'jti-1' });
    const elapsed = await rejectedWithin(token, 1000);
    assert.ok(elapsed < 1000, `rejected after ${elapsed}ms`);

    const response = await get(proxy.proxyUrl, '/orders', token);
    assert.deepEqual(JSON.parse(response.body), { error: 'token_revoked' });
    assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.equal(await statusOf(bystander), 200);
    assert.ok(proxy.logs.some((line) => line.includes('"reason":"token_revoked"') && line.includes(`"revocationId":"${id}"`)));
  });

  test('token without jti is revoked by signing-input hash', async () => {
    const token = await workspace.issuer.token({ omit: ['jti'], claims: { sub: 'hash-user' } });
    const sibling = await workspace.issuer.token({ omit: ['jti'], claims: { sub: 'hash-user', nonce: 'other' } });
    assert.equal(await statusOf(token), 200);

    const signingInput = token.slice(0, token.lastIndexOf('.'));
    const sha256 = createHash('sha256').update(signingInput).digest('base64url');
    await workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, sha256 });
    await rejectedWithin(token, 1000);
    assert.equal(await statusOf(sibling), 200);
  });

  test('re-encoded signature does not escape a hash revocation', async () => {
    const token = await workspace.issuer.token({ omit: ['jti'], claims: { sub: 'hash-user-2' } });
    const signingInput = token.slice(0, token.lastIndexOf('.'));
    await workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, sha256: createHash('sha256').update(signingInput).digest('base64url') });
    await rejectedWithin(token, 1000);
    // Same header and payload with a different signature segment: the hash still matches, and the
    // forged signature fails anyway, so no variant of the token gets through.
    const variant = `${signingInput}.${token.split('.')[2]!.slice(0, -2)}AA`;
    assert.equal(await statusOf(variant), 401);
  });

  test('subject revocation covers iat equal to T', async () => {
    const now = Math.floor(Date.now() / 1000);
    const atT = await workspace.issuer.token({ claims: { sub: 'subject-user', iat: now - 10 } }, now);
    const beforeT = await workspace.issuer.token({ claims: { sub: 'subject-user', iat: now - 20 } }, now);
    const afterT = await workspace.issuer.token({ claims: { sub: 'subject-user', iat: now - 9 } }, now);
    const otherSubject = await workspace.issuer.token({ claims: { sub: 'someone-else', iat: now - 20 } }, now);

    await workspace.responder.revoke(nats.url, { kind: 'subject', iss: ISSUER, sub: 'subject-user', before: now - 10 });
    await rejectedWithin(atT, 1000);
    assert.equal(await statusOf(beforeT), 401);
    assert.equal(await statusOf(afterT), 200);
    assert.equal(await statusOf(otherSubject), 200);
  });

  test('event from an untrusted responder is ignored', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'untrusted-target', jti: 'jti-untrusted' } });
    await workspace.untrustedResponder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: 'jti-untrusted' });
    await eventually(async () => (await get(proxy.adminUrl, '/metrics')).body.includes('reason="untrusted_key"'), 2000);
    assert.equal(await statusOf(token), 200);
  });

  test('replayed older event does not weaken', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await workspace.issuer.token({ claims: { sub: 'replay-target', iat: now - 60 } }, now);
    await workspace.responder.revoke(nats.url, { kind: 'subject', iss: ISSUER, sub: 'replay-target', before: now }, { issuedAt: now });
    await rejectedWithin(token, 1000);

    // An older event for the same key, as an attacker replaying captured stream bytes would send it.
    await workspace.responder.revoke(nats.url, { kind: 'subject', iss: ISSUER, sub: 'replay-target', before: now - 120 }, { issuedAt: now - 120 });
    await eventually(async () => (await get(proxy.adminUrl, '/metrics')).body.includes('reason="superseded"'), 2000);
    assert.equal(await statusOf(token), 401);
  });

  test('junk and replays never erase a revocation', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await workspace.issuer.token({ claims: { sub: 'junk-target', iat: now - 30 } }, now);
    const target = { kind: 'subject' as const, iss: ISSUER, sub: 'junk-target', before: now };
    const id = await workspace.responder.revoke(nats.url, target, { issuedAt: now });
    await rejectedWithin(token, 1000);

    // Junk on the revocation's own subject, and a replayed older event for the same key.
    const connection = await connect({ servers: nats.url });
    try {
      await jetstream(connection).publish(subjectFor('REVGATE', target, id), 'not a revocation');
    } finally {
      await connection.close();
    }
    await workspace.responder.revoke(nats.url, { ...target, before: now - 600 }, { issuedAt: now - 600 });
    await eventually(async () => (await get(proxy.adminUrl, '/metrics')).body.includes('result="rejected",reason="malformed"'), 2000);
    assert.equal(await statusOf(token), 401);

    // A proxy that replays the stream afterwards still enforces the revocation.
    const late = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }, 'late.yaml');
    try {
      await eventually(async () => late.replica.synced(), 10_000);
      assert.equal(await statusOf(token, '/orders', late), 401);
    } finally {
      await late.close();
    }
  });

  test('cli revoke token is enforced', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'cli-user' } });
    const result = await runCli(
      ['revoke', 'token', '-', '--nats', nats.url, '--signing-key', workspace.responder.privateKeyFile, '--reason', 'test: leaked'],
      token,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^stored: revocation [0-9a-f-]{36} at REVGATE sequence \d+$/m);
    await rejectedWithin(token, 1000);
    assert.ok(!result.stderr.includes(token));
    assert.ok(!result.stdout.includes(token));
  });

  test('restarted proxy replays revocations', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'replay-user', jti: 'jti-replay' } });
    await workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: 'jti-replay' });
    await rejectedWithin(token, 1000);

    const second = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }, 'second.yaml');
    try {
      await eventually(async () => second.replica.synced(), 10_000);
      assert.equal(await statusOf(token, '/orders', second), 401);
      assert.equal(await statusOf(await workspace.issuer.token(), '/orders', second), 200);
    } finally {
      await second.close();
    }
  });
  test('stream shorter than token lifetime is reported', async () => {
    const issuers = [{ issuer: ISSUER, audience: 'orders-api', jwks: { file: workspace.issuer.jwksFile }, algorithms: ['ES256'], maxTokenLifetime: '3h' }];
    const long = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, overrides: { issuers } }, 'long-lifetime.yaml');
    try {
      await eventually(async () => long.logs.some((line) => line.includes('"level":"error"') && line.includes('less than the longest token lifetime')), 5000);
    } finally {
      await long.close();
    }
    assert.ok(!proxy.logs.some((line) => line.includes('less than the longest token lifetime')), 'a 1h lifetime fits the 2h stream');
  });
});

describe('staleness', () => {
  test('privileged route fails closed while NATS is down', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'admin-user' } });
    assert.equal(await statusOf(token, '/admin'), 200);

    await nats.stop('SIGKILL');
    const stoppedAt = Date.now();
    await eventually(async () => (await statusOf(token, '/admin')) === 503, 10_000, 100);
    const elapsed = Date.now() - stoppedAt;
    assert.ok(elapsed >= 1500, `privileged route failed closed after ${elapsed}ms, before maxStaleness`);

    const stale = await get(proxy.proxyUrl, '/admin', token);
    assert.deepEqual(JSON.parse(stale.body), { error: 'revocation_state_stale' });
    assert.ok(Number(stale.headers.get('retry-after')) >= 1);
    assert.equal(await statusOf(token, '/orders'), 200);
    const metrics = (await get(proxy.adminUrl, '/metrics')).body;
    assert.ok(Number(/^revgate_replica_staleness_seconds (\S+)$/m.exec(metrics)?.[1]) > 2);

    await nats.launch();
    await eventually(async () => (await statusOf(token, '/admin')) === 200, 15_000, 100);
  });

  test('privileged route rejects before the first sync', async () => {
    const unreachable = await NatsServer.start();
    const url = unreachable.url;
    await unreachable.dispose();
    const cold = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: url }, 'cold.yaml');
    try {
      const token = await workspace.issuer.token();
      assert.equal(await statusOf(token, '/admin', cold), 503);
      assert.equal(await statusOf(token, '/orders', cold), 200);
      assert.equal((await get(cold.adminUrl, '/readyz')).status, 503);
    } finally {
      await cold.close();
    }
  });
});
