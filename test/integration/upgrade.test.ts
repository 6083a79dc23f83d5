/**
 * Upgraded connections through the proxy: a real upstream that accepts upgrades and echoes bytes,
 * raw client sockets, real tokens, and revocations published to a real nats-server while the
 * connection is open.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { createWorkspace, eventually, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';

let nats: NatsServer;
let workspace: Workspace;
let proxy: RunningProxy;
let upstream: http.Server;
const upgradeHeaders: http.IncomingHttpHeaders[] = [];
const afterDecline: string[] = [];

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  workspace = await createWorkspace();
  upstream = http.createServer((_request, response) => response.end('plain'));
  upstream.on('upgrade', (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    upgradeHeaders.push(request.headers);
    if (request.url?.includes('/no-upgrade')) {
      // Declines the upgrade, then records whatever else arrives on the connection.
      if (head.length > 0) afterDecline.push(head.toString());
      socket.on('data', (chunk: Buffer) => afterDecline.push(chunk.toString()));
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno');
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as net.AddressInfo;
  proxy = await startProxy(workspace, { upstreamUrl: `http://127.0.0.1:${port}`, natsUrl: nats.url });
  await eventually(async () => proxy.replica.synced(), 10_000);
});

after(async () => {
  await proxy?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  await nats?.dispose();
  await workspace?.dispose();
});

interface Opened {
  socket: net.Socket;
  /** The response head the proxy sent. */
  head: string;
  closed: Promise<void>;
}

/** Opens a raw connection, sends an upgrade request and waits for the response head. */
function openUpgrade(token: string | undefined, path = '/ws', extraHeaders: string[] = [], trailing = ''): Promise<Opened> {
  const { port } = new URL(proxy.proxyUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let received = '';
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      const lines = [`GET ${path} HTTP/1.1`, 'host: app.test', 'upgrade: websocket', 'connection: Upgrade', 'sec-websocket-version: 13', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', ...extraHeaders];
      if (token) lines.push(`authorization: Bearer ${token}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n${trailing}`);
    });
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({ socket, head: received.slice(0, end), closed });
    };
    socket.on('data', onData);
    setTimeout(() => reject(new Error(`no response head; got ${JSON.stringify(received)}`)), 5000).unref();
  });
}

function echo(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.write(text);
  });
}

describe('upgraded connections', () => {
  test('valid token is relayed with identity', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'ws-user' } });
    const opened = await openUpgrade(token, '/ws', ['x-auth-subject: mallory']);
    try {
      assert.match(opened.head, /^HTTP\/1\.1 101 /);
      assert.equal(await echo(opened.socket, 'ping'), 'ping');
      const seen = upgradeHeaders.at(-1)!;
      assert.equal(seen['x-auth-subject'], 'ws-user');
      assert.equal(seen.upgrade, 'websocket');
    } finally {
      opened.socket.destroy();
    }
  });

  test('missing token gets 401', async () => {
    const before = upgradeHeaders.length;
    const opened = await openUpgrade(undefined);
    assert.match(opened.head, /^HTTP\/1\.1 401 Unauthorized/);
    assert.match(opened.head, /\r\nwww-authenticate: Bearer(\r\n|$)/);
    await opened.closed;
    assert.equal(upgradeHeaders.length, before, 'the upstream must not see a rejected upgrade');
  });

  test('revoked token is rejected at upgrade', async () => {
    const token = await workspace.issuer.token({ claims: { jti: 'ws-revoked-early' } });
    await workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: 'ws-revoked-early' });
    await eventually(async () => proxy.denylist.size > 0, 1000);
    const opened = await openUpgrade(token);
    assert.match(opened.head, /^HTTP\/1\.1 401 /);
  });

  test('revocation closes an open connection', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await workspace.issuer.token({ claims: { sub: 'ws-victim', iat: now - 5 } });
    const opened = await openUpgrade(token);
    assert.match(opened.head, /^HTTP\/1\.1 101 /);
    assert.equal(await echo(opened.socket, 'before'), 'before');

    const revokedAt = Date.now();
    await workspace.responder.revoke(nats.url, { kind: 'subject', iss: ISSUER, sub: 'ws-victim', before: now });
    await opened.closed;
    const elapsed = Date.now() - revokedAt;
    assert.ok(elapsed < 3000, `closed ${elapsed}ms after the revocation`);
    assert.ok(proxy.logs.some((line) => line.includes('closed upgraded connection') && line.includes('"reason":"token_revoked"')));
  });

  test('declined upgrade relays nothing more', async () => {
    const smuggled = 'GET /admin/users HTTP/1.1\r\nhost: x\r\nx-auth-subject: root\r\n\r\n';
    const opened = await openUpgrade(undefined, '/public/no-upgrade', [], smuggled);
    assert.match(opened.head, /^HTTP\/1\.1 200 /);
    await opened.closed;
    assert.ok(!afterDecline.join('').includes('/admin/users'), 'a request behind the upgrade reached the upstream');
  });

  test('expired token closes the connection', async () => {
    // The test issuer allows 5 s of clock tolerance, so this token stays acceptable for about 2 s.
    const now = Math.floor(Date.now() / 1000);
    const token = await workspace.issuer.token({ claims: { sub: 'ws-expiring', iat: now - 10, exp: now - 3 } });
    const opened = await openUpgrade(token);
    assert.match(opened.head, /^HTTP\/1\.1 101 /);
    await opened.closed;
    assert.ok(proxy.logs.some((line) => line.includes('closed upgraded connection') && line.includes('"reason":"token_expired"')));
  });

  test('stale replica closes a privileged connection', async () => {
    const opened = await openUpgrade(await workspace.issuer.token(), '/admin/ws');
    assert.match(opened.head, /^HTTP\/1\.1 101 /);
    await nats.stop('SIGKILL');
    await opened.closed;
    assert.ok(proxy.logs.some((line) => line.includes('closed upgraded connection') && line.includes('"reason":"revocation_state_stale"')));
  });
});
