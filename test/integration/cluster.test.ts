/**
 * A three-node JetStream cluster started from deploy/nats/, with the stream on three replicas and
 * every client on its least-privilege user: proxies read, responders publish, the admin creates
 * the stream. Nodes are killed and restarted under the proxies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

import type { NatsConnectionSettings } from '../../proxy/revocation/nats-connection.js';
import { NatsCluster, PASSWORDS } from '../support/cluster.js';
import { ISSUER } from '../support/issuer.js';
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

interface Setup {
  cluster: NatsCluster;
  proxies: RunningProxy[];
  responder: NatsConnectionSettings;
}

async function startCluster(name: string, proxyCount: number): Promise<Setup> {
  const cluster = await NatsCluster.start();
  try {
    return await startProxies(cluster, name, proxyCount);
  } catch (error) {
    await cluster.dispose();
    throw error;
  }
}

async function startProxies(cluster: NatsCluster, name: string, proxyCount: number): Promise<Setup> {
  // Creating an R3 stream fails until the cluster has elected its JetStream meta leader.
  const admin = { user: 'revgate-admin', pass: PASSWORDS.REVGATE_ADMIN_PASSWORD };
  await eventually(() => initStream(cluster.urls, 'REVGATE', { replicas: 3, connection: admin }).then(() => true, () => false), 20_000, 250);
  const proxyCredentials = { user: 'revgate-proxy', passwordFile: await cluster.passwordFile('proxy') };
  const proxies: RunningProxy[] = [];
  for (let index = 0; index < proxyCount; index++) {
    proxies.push(await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: cluster.urls, nats: proxyCredentials }, `${name}-${index}.yaml`));
  }
  await eventually(async () => proxies.every((proxy) => proxy.replica.synced()), 30_000, 100);
  const responder = { servers: cluster.urls, name: 'revgate-test', user: 'revgate-responder', passwordFile: await cluster.passwordFile('responder') };
  return { cluster, proxies, responder };
}

async function stopCluster(setup: Setup): Promise<void> {
  await Promise.all(setup.proxies.map((proxy) => proxy.close()));
  await setup.cluster.dispose();
}

async function streamLeader(cluster: NatsCluster): Promise<number> {
  const connection = await connect({ servers: cluster.urls, user: 'revgate-admin', pass: PASSWORDS.REVGATE_ADMIN_PASSWORD });
  try {
    const info = await (await jetstreamManager(connection)).streams.info('REVGATE');
    return cluster.indexOf(info.cluster?.leader ?? '');
  } finally {
    await connection.close();
  }
}

const statusOf = async (proxy: RunningProxy, token: string, path = '/orders') => (await get(proxy.proxyUrl, path, token)).status;

/** Checks through HTTP that every proxy rejects a token with each of these jtis. */
async function assertEnforcedEverywhere(proxies: RunningProxy[], jtis: string[]): Promise<void> {
  const tokens = await Promise.all(jtis.map((jti) => workspace.issuer.token({ claims: { sub: `user-${jti}`, jti } })));
  for (const [index, proxy] of proxies.entries()) {
    await eventually(async () => {
      const statuses = await Promise.all(tokens.map((token) => statusOf(proxy, token)));
      return statuses.every((status) => status === 401);
    }, 30_000, 200).catch(async () => {
      const statuses = await Promise.all(tokens.map((token) => statusOf(proxy, token)));
      const missing = jtis.filter((_, position) => statuses[position] !== 401);
      assert.fail(`proxy ${index} does not enforce ${missing.length} acknowledged revocation(s): ${missing.slice(0, 5).join(', ')}`);
    });
  }
}

describe('three-node cluster', () => {
  test('stream leader killed without loss', async () => {
    const setup = await startCluster('leader', 2);
    try {
      const before = Array.from({ length: 20 }, (_, index) => `leader-before-${index}`);
      for (const jti of before) await workspace.responder.revoke(setup.responder, { kind: 'token', iss: ISSUER, jti });

      await setup.cluster.killNode(await streamLeader(setup.cluster));
      const afterKill = Array.from({ length: 20 }, (_, index) => `leader-after-${index}`);
      for (const jti of afterKill) await workspace.responder.revoke(setup.responder, { kind: 'token', iss: ISSUER, jti }, { timeout: 20_000 });

      await assertEnforcedEverywhere(setup.proxies, [...before, ...afterKill]);
      const admin = await workspace.issuer.token();
      for (const proxy of setup.proxies) {
        await eventually(async () => (await statusOf(proxy, admin, '/admin')) === 200, 30_000, 200);
      }
    } finally {
      await stopCluster(setup);
    }
  });

  test('two nodes killed fail closed', async () => {
    const setup = await startCluster('quorum', 1);
    const [proxy] = setup.proxies;
    try {
      const admin = await workspace.issuer.token();
      assert.equal(await statusOf(proxy!, admin, '/admin'), 200);

      const leader = await streamLeader(setup.cluster);
      const others = [0, 1, 2].filter((index) => index !== leader);
      await setup.cluster.killNode(leader);
      await setup.cluster.killNode(others[0]!);
      await eventually(async () => (await statusOf(proxy!, admin, '/admin')) === 503, 10_000, 100);
      assert.equal(await statusOf(proxy!, admin), 200);

      await setup.cluster.startNode(leader);
      await setup.cluster.startNode(others[0]!);
      await eventually(async () => (await statusOf(proxy!, admin, '/admin')) === 200, 60_000, 200);
    } finally {
      await stopCluster(setup);
    }
  });

  test('no acknowledged revocation is lost', async () => {
    const setup = await startCluster('loss', 3);
    const total = 300;
    const acknowledged: string[] = [];
    const failed: string[] = [];
    try {
      let chaosRunning = true;
      const chaos = (async () => {
        // Restart each node in turn, then take two down at once so that publishes lose quorum.
        for (const victims of [[0], [1], [2], [0, 1]]) {
          if (!chaosRunning) break;
          for (const victim of victims) await setup.cluster.killNode(victim);
          await new Promise((resolve) => setTimeout(resolve, 1500));
          for (const victim of victims) await setup.cluster.startNode(victim);
          await new Promise((resolve) => setTimeout(resolve, 1500));
        }
      })();

      const jtis = Array.from({ length: total }, (_, index) => `loss-${index}`);
      const concurrency = 10;
      for (let start = 0; start < total; start += concurrency) {
        await Promise.all(
          jtis.slice(start, start + concurrency).map(async (jti) => {
            try {
              await workspace.responder.revoke(setup.responder, { kind: 'token', iss: ISSUER, jti }, { timeout: 3000 });
              acknowledged.push(jti);
            } catch (error) {
              assert.equal((error as { code?: string }).code, 'ERR_NOT_STORED');
              failed.push(jti);
            }
          }),
        );
      }
      chaosRunning = false;
      await chaos;

      assert.equal(acknowledged.length + failed.length, total);
      assert.ok(acknowledged.length > total / 2, `only ${acknowledged.length} of ${total} acknowledged`);
      await assertEnforcedEverywhere(setup.proxies, acknowledged);
    } finally {
      await stopCluster(setup);
    }
  });
});
