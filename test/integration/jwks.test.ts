/**
 * Remote JWKS: keys fetched over http from a real loopback server, counted by result, and a 503
 * (not a 401) when the key set cannot be loaded.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';

import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';

import { NatsServer } from '../support/nats.js';
import { createWorkspace, eventually, get, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

const REMOTE_ISSUER = 'http://127.0.0.1/remote-idp';
let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
let proxy: RunningProxy;
let jwksServer: http.Server;
let privateKey: CryptoKey;
let serveKeys = true;

before(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'remote-1', alg: 'ES256' }] });
  jwksServer = http.createServer((_request, response) => {
    if (!serveKeys) return void response.writeHead(500).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const { port } = jwksServer.address() as AddressInfo;

  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
  const issuers = [
    { issuer: REMOTE_ISSUER, audience: 'orders-api', jwks: { url: `http://127.0.0.1:${port}/jwks.json`, cooldown: '100ms' }, algorithms: ['ES256'], maxTokenLifetime: '1h' },
  ];
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, overrides: { issuers } }, 'jwks.yaml');
  await eventually(async () => proxy.replica.synced(), 10_000);
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  jwksServer?.closeAllConnections();
  await new Promise((resolve) => jwksServer?.close(resolve));
  await nats?.dispose();
  await workspace?.dispose();
});

async function remoteToken(kid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: REMOTE_ISSUER, aud: 'orders-api', sub: 'remote-user', iat: now, exp: now + 300 })
    .setProtectedHeader({ alg: 'ES256', kid })
    .sign(privateKey);
}

const fetches = async (result: string) => {
  const body = (await get(proxy.adminUrl, '/metrics')).body;
  const match = new RegExp(`^revgate_jwks_fetches_total\\{issuer="${REMOTE_ISSUER.replaceAll('/', '\\/')}",result="${result}"\\} (\\d+)$`, 'm').exec(body);
  return Number(match?.[1] ?? 0);
};

test('remote keys verify and are counted', async () => {
  assert.equal((await get(proxy.proxyUrl, '/orders', await remoteToken('remote-1'))).status, 200);
  assert.ok((await fetches('success')) >= 1);
});

test('unloadable keys answer 503', async () => {
  serveKeys = false;
  try {
    // An unknown kid makes jose fetch the key set again, which now fails.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const response = await get(proxy.proxyUrl, '/orders', await remoteToken('rotated-2'));
    assert.equal(response.status, 503);
    assert.deepEqual(JSON.parse(response.body), { error: 'keys_unavailable' });
    assert.ok((await fetches('failure')) >= 1);
  } finally {
    serveKeys = true;
  }
});
