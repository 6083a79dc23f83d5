/**
 * The NATS fault matrix against one nats-server: crash, hang, lost store, a proxy that starts while
 * NATS is down, and snapshots that are missing, valid, corrupt or from another stream.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { writeSnapshot } from '../../proxy/revocation/snapshot.js';
import { ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { createWorkspace, eventually, get, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let workspace: Workspace;

before(async () => {
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
});

after(async () => {
  await upstream?.close();
  await workspace?.dispose();
});

const statusOf = async (proxy: RunningProxy, token: string, path = '/orders') => (await get(proxy.proxyUrl, path, token)).status;
const tokenFor = (jti: string) => workspace.issuer.token({ claims: { sub: `user-${jti}`, jti } });
const revokeJti = (nats: NatsServer, jti: string, timeout?: number) =>
  workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti }, timeout === undefined ? {} : { timeout });

async function metric(proxy: RunningProxy, name: string): Promise<number> {
  const body = (await get(proxy.adminUrl, '/metrics')).body;
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
  if (!match) return Number.NaN;
  return match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
}

/** Starts a server with a stream and a synced proxy; the test owns both and must dispose them. */
async function startSynced(name: string, revocation: Record<string, unknown> = {}) {
  const nats = await NatsServer.start();
  await initStream(nats.url);
  const proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, revocation }, `${name}.yaml`);
  await eventually(async () => proxy.replica.synced(), 10_000);
  return { nats, proxy };
}

describe('fault matrix', () => {
  test('kill -9 and restart', async () => {
    const { nats, proxy } = await startSynced('kill');
    try {
      const before = await tokenFor('kill-before');
      await revokeJti(nats, 'kill-before');
      await eventually(async () => (await statusOf(proxy, before)) === 401, 1000);

      await nats.stop('SIGKILL');
      await assert.rejects(revokeJti(nats, 'kill-during', 1000), { code: 'ERR_NOT_STORED' });
      const admin = await tokenFor('kill-admin');
      await eventually(async () => (await statusOf(proxy, admin, '/admin')) === 503, 5000, 100);
      assert.equal(await statusOf(proxy, admin), 200);
      assert.equal(await statusOf(proxy, before), 401);

      await nats.launch();
      await eventually(async () => (await statusOf(proxy, admin, '/admin')) === 200, 10_000, 100);
      const after = await tokenFor('kill-after');
      await revokeJti(nats, 'kill-after');
      await eventually(async () => (await statusOf(proxy, after)) === 401, 1000);
      assert.ok((await metric(proxy, 'revgate_nats_reconnects_total')) >= 1);
    } finally {
      await proxy.close();
      await nats.dispose();
    }
  });

  test('SIGSTOP then SIGCONT', async () => {
    const { nats, proxy } = await startSynced('hang');
    try {
      const admin = await tokenFor('hang-admin');
      assert.equal(await statusOf(proxy, admin, '/admin'), 200);

      nats.pause();
      const pausedAt = Date.now();
      // maxStaleness 2s plus one probe interval, with slack for a loaded machine.
      await eventually(async () => (await statusOf(proxy, admin, '/admin')) === 503, 6000, 100);
      assert.ok(Date.now() - pausedAt >= 1500);
      assert.equal(await statusOf(proxy, admin), 200);
      assert.ok((await metric(proxy, 'revgate_replica_staleness_seconds')) > 2);

      nats.resume();
      await eventually(async () => (await statusOf(proxy, admin, '/admin')) === 200, 30_000, 200);
      const token = await tokenFor('hang-after');
      await revokeJti(nats, 'hang-after');
      await eventually(async () => (await statusOf(proxy, token)) === 401, 1000);
    } finally {
      await proxy.close();
      await nats.dispose();
    }
  });

  test('restart with an empty store', async () => {
    const { nats, proxy } = await startSynced('empty');
    try {
      const lost = await tokenFor('empty-lost');
      await revokeJti(nats, 'empty-lost');
      await eventually(async () => (await statusOf(proxy, lost)) === 401, 1000);

      await nats.stop('SIGKILL');
      await rm(nats.storeDir, { recursive: true, force: true });
      await nats.launch();
      const admin = await tokenFor('empty-admin');
      await eventually(async () => proxy.logs.some((line) => line.includes('revocation stream not found')), 10_000, 100);
      await eventually(async () => (await statusOf(proxy, admin, '/admin')) === 503, 5000, 100);

      await initStream(nats.url);
      // Both streams were lost, so both are replayed.
      await eventually(async () => (await metric(proxy, 'revgate_replica_resyncs_total')) === 2, 10_000, 100);
      assert.ok(proxy.logs.some((line) => line.includes('"level":"warn"') && line.includes('revocation stream changed')));
      await eventually(async () => (await statusOf(proxy, admin, '/admin')) === 200, 10_000, 100);
      // The entry from the lost stream is kept: losing the stream never lifts a revocation.
      assert.equal(await statusOf(proxy, lost), 401);

      const fresh = await tokenFor('empty-fresh');
      await revokeJti(nats, 'empty-fresh');
      await eventually(async () => (await statusOf(proxy, fresh)) === 401, 1000);
    } finally {
      await proxy.close();
      await nats.dispose();
    }
  });
});

describe('proxy starting while NATS is down', () => {
  test('without a snapshot', async () => {
    const nats = await NatsServer.start();
    await nats.stop('SIGKILL');
    const proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }, 'cold-start.yaml');
    try {
      const token = await tokenFor('cold');
      assert.equal(await statusOf(proxy, token, '/admin'), 503);
      assert.equal(await statusOf(proxy, token), 200);
      assert.equal((await get(proxy.adminUrl, '/readyz')).status, 503);
      assert.equal(await metric(proxy, 'revgate_replica_staleness_seconds'), Number.POSITIVE_INFINITY);

      await nats.launch();
      await initStream(nats.url);
      await eventually(async () => (await get(proxy.adminUrl, '/readyz')).status === 200, 10_000, 100);
      assert.equal(await statusOf(proxy, token, '/admin'), 200);
    } finally {
      await proxy.close();
      await nats.dispose();
    }
  });

  test('with a snapshot', async () => {
    const snapshot = { path: path.join(workspace.folder, 'with-snapshot.state'), interval: '100ms' };
    const { nats, proxy: first } = await startSynced('snapshot-writer', { snapshot });
    const revoked = await tokenFor('snapshot-revoked');
    try {
      await revokeJti(nats, 'snapshot-revoked');
      await eventually(async () => (await statusOf(first, revoked)) === 401, 1000);
    } finally {
      await first.close();
    }
    await nats.stop('SIGKILL');

    const second = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, revocation: { snapshot } }, 'snapshot-reader.yaml');
    try {
      assert.equal(await statusOf(second, revoked), 401);
      const admin = await tokenFor('snapshot-admin');
      await eventually(async () => (await statusOf(second, admin, '/admin')) === 503, 5000, 100);
      assert.equal(await statusOf(second, admin), 200);
      assert.equal((await get(second.adminUrl, '/readyz')).status, 503);
      assert.ok(Number.isFinite(await metric(second, 'revgate_replica_staleness_seconds')), 'stale since the snapshot, not forever');

      await nats.launch();
      await eventually(async () => (await statusOf(second, admin, '/admin')) === 200, 10_000, 100);
      assert.equal((await get(second.adminUrl, '/readyz')).status, 200);
      assert.equal(await statusOf(second, revoked), 401);
    } finally {
      await second.close();
      await nats.dispose();
    }
  });

  test('corrupt snapshot is ignored', async () => {
    const snapshot = { path: path.join(workspace.folder, 'corrupt.state') };
    await writeFile(snapshot.path, 'revgate-snapshot 1 sha256=00\n{"stream":"REVGATE"');
    const { nats, proxy } = await startSynced('corrupt', { snapshot });
    try {
      assert.ok(proxy.logs.some((line) => line.includes('revocation snapshot ignored') && line.includes('"level":"warn"')));
      const token = await tokenFor('corrupt-after');
      await revokeJti(nats, 'corrupt-after');
      await eventually(async () => (await statusOf(proxy, token)) === 401, 1000);
    } finally {
      await proxy.close();
      await nats.dispose();
    }
  });

  test('snapshot beyond the stream triggers a full replay', async () => {
    const nats = await NatsServer.start();
    await initStream(nats.url);
    const revoked = await tokenFor('beyond-revoked');
    await revokeJti(nats, 'beyond-revoked');

    const snapshot = { path: path.join(workspace.folder, 'beyond.state') };
    await writeSnapshot(snapshot.path, {
      stream: 'REVGATE',
      streams: { REVGATE: { sequence: 999, created: undefined }, REVGATE_UNTIL_LIFTED: { sequence: 0, created: undefined } },
      confirmedAt: Date.now(),
      entries: [],
    });
    const proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, revocation: { snapshot } }, 'beyond.yaml');
    try {
      await eventually(async () => (await metric(proxy, 'revgate_replica_resyncs_total')) === 1, 10_000, 100);
      await eventually(async () => (await statusOf(proxy, revoked)) === 401, 5000);
    } finally {
      await proxy.close();
      await nats.dispose();
    }
  });

  test('snapshot of another stream is ignored', async () => {
    const snapshot = { path: path.join(workspace.folder, 'other-stream.state') };
    await writeSnapshot(snapshot.path, { stream: 'OTHER', streams: { OTHER: { sequence: 5, created: undefined } }, confirmedAt: Date.now(), entries: [] });
    const { nats, proxy } = await startSynced('other-stream', { snapshot });
    try {
      assert.ok(proxy.logs.some((line) => line.includes('belongs to stream OTHER')));
    } finally {
      await proxy.close();
      await nats.dispose();
    }
  });
});
