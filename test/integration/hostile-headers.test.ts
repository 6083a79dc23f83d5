/**
 * Header hygiene through a running proxy: `Connection` options that would strip credentials or
 * framing, spoofed identity and `X-Forwarded-*` headers, claim values that would inject headers,
 * the trusted-proxy chain, and Host validation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { lastAccessLine } from '../support/observe.js';
import { createWorkspace, eventually, send, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { rawRequest } from '../support/raw-http.js';
import { initStream } from '../support/streams.js';
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
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }, 'hostile-headers.yaml');
  await eventually(async () => proxy.replica.synced(), 10_000);
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

/** Lower-case names of the headers the upstream received last, in order, repeats included. */
function upstreamHeaderNames(): string[] {
  return upstream.last!.rawHeaders.filter((_, index) => index % 2 === 0).map((name) => name.toLowerCase());
}

/** Returns every value the upstream received last for a header, compared with `_` read as `-`. */
function upstreamValues(name: string): string[] {
  const wanted = name.toLowerCase().replaceAll('_', '-');
  const raw = upstream.last!.rawHeaders;
  const values: string[] = [];
  for (let index = 0; index < raw.length; index += 2) {
    if (raw[index]!.toLowerCase().replaceAll('_', '-') === wanted) values.push(raw[index + 1]!);
  }
  return values;
}

describe('connection header', () => {
  const protectedOptions = [
    'Authorization', 'authorization', 'keep-alive, Authorization', 'Host', 'Content-Length', 'Transfer-Encoding',
    'X-Auth-Subject', 'x_auth_subject', 'X-AUTH-SCOPES', 'X-Auth-Issuer', 'X-Forwarded-For', 'x-forwarded-host',
    'X_Forwarded_Proto', 'X-Forwarded-Anything', 'Forwarded', 'close, ,host',
  ];
  for (const option of protectedOptions) {
    test(`Connection: ${option} gets 400`, async () => {
      const token = await workspace.issuer.token();
      const seenBefore = upstream.seen.length;
      const response = await send(proxy.proxyUrl, '/orders', ['authorization', `Bearer ${token}`, 'connection', option]);
      assert.equal(response.status, 400);
      assert.deepEqual(JSON.parse(response.body), { error: 'invalid_connection_header' });
      assert.equal(upstream.seen.length, seenBefore);
      assert.equal(lastAccessLine(proxy.logs).reason, 'invalid_connection_header');
    });
  }

  test('Connection option in a second header gets 400', async () => {
    const response = await send(proxy.proxyUrl, '/public/x', ['connection', 'keep-alive', 'connection', 'authorization']);
    assert.equal(response.status, 400);
  });

  test('harmless Connection options are removed', async () => {
    const token = await workspace.issuer.token();
    const response = await send(proxy.proxyUrl, '/orders', [
      'authorization', `Bearer ${token}`, 'connection', 'keep-alive, X-Debug, x_trace', 'x-debug', '1', 'X-Trace', '2', 'x-kept', '3',
    ]);
    assert.equal(response.status, 200);
    const names = upstreamHeaderNames();
    assert.ok(!names.includes('x-debug'));
    assert.ok(!names.includes('x-trace'));
    assert.ok(names.includes('x-kept'));
    assert.equal(upstream.last!.headers.authorization, `Bearer ${token}`);
  });
});

describe('identity headers', () => {
  const spoofs = [
    'X-Auth-Subject', 'x-auth-subject', 'X-AUTH-SUBJECT', 'X_Auth_Subject', 'x_auth-subject', 'X-Auth_Subject', 'X_AUTH_SUBJECT',
    'x-auth-scopes', 'X_Auth_Scopes', 'x-auth-issuer', 'X_AUTH_ISSUER',
  ];
  const spoofHeaders = spoofs.flatMap((name) => [name, 'mallory']);

  test('client copies are removed on a route with a token', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'alice', scope: 'a b' } });
    const response = await send(proxy.proxyUrl, '/orders', ['authorization', `Bearer ${token}`, ...spoofHeaders]);
    assert.equal(response.status, 200);
    assert.deepEqual(upstreamValues('x-auth-subject'), ['alice']);
    assert.deepEqual(upstreamValues('x-auth-scopes'), ['a b']);
    assert.deepEqual(upstreamValues('x-auth-issuer'), [ISSUER]);
    assert.ok(!upstream.last!.rawHeaders.includes('mallory'));
  });

  for (const target of ['/public/x', '/maybe/x']) {
    test(`client copies are removed on ${target} without a token`, async () => {
      const response = await send(proxy.proxyUrl, target, spoofHeaders);
      assert.equal(response.status, 200);
      for (const name of ['x-auth-subject', 'x-auth-scopes', 'x-auth-issuer']) assert.deepEqual(upstreamValues(name), [], name);
    });
  }

  test('client copy is removed when the token has no such claim', async () => {
    const token = await workspace.issuer.token({ omit: ['sub'] });
    const response = await send(proxy.proxyUrl, '/orders', ['authorization', `Bearer ${token}`, 'X_Auth_Subject', 'mallory']);
    assert.equal(response.status, 200);
    assert.deepEqual(upstreamValues('x-auth-subject'), []);
  });

  test('rewrite and client address headers are removed in every spelling', async () => {
    const token = await workspace.issuer.token();
    const names = ['X-Original-URL', 'x_original_url', 'X-Rewrite-Url', 'X_HTTP_METHOD_OVERRIDE', 'X-Real-IP', 'x_real_ip', 'True-Client-IP', 'Remote_User'];
    const response = await send(proxy.proxyUrl, '/orders', ['authorization', `Bearer ${token}`, ...names.flatMap((name) => [name, 'spoof'])]);
    assert.equal(response.status, 200);
    assert.ok(!upstream.last!.rawHeaders.includes('spoof'));
  });
});

describe('claim values', () => {
  const unsafe: [string, Record<string, unknown>][] = [
    ['CR in sub', { sub: 'alice\rX-Admin: 1' }],
    ['LF in sub', { sub: 'alice\nX-Admin: 1' }],
    ['CRLF in sub', { sub: 'alice\r\nX-Admin: 1' }],
    ['NUL in sub', { sub: 'alice\u0000' }],
    ['DEL in sub', { sub: 'alice\u007f' }],
    ['vertical tab in sub', { sub: 'alice\u000b' }],
    ['LF in scope', { scope: 'read\nX-Admin: 1' }],
    ['lone surrogate in sub', { sub: 'alice\ud800' }],
  ];
  for (const [name, claims] of unsafe) {
    test(`${name} gets 401 invalid_claim_value`, async () => {
      const seenBefore = upstream.seen.length;
      const response = await send(proxy.proxyUrl, '/orders', ['authorization', `Bearer ${await workspace.issuer.token({ claims })}`]);
      assert.equal(response.status, 401);
      assert.deepEqual(JSON.parse(response.body), { error: 'invalid_claim_value' });
      assert.equal(upstream.seen.length, seenBefore);
    });
  }

  test('tab and non-ASCII text pass as UTF-8 bytes', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'jos\u00e9\tm\u00fcller \u{1f600}' } });
    const response = await send(proxy.proxyUrl, '/orders', ['authorization', `Bearer ${token}`]);
    assert.equal(response.status, 200);
    const raw = upstreamValues('x-auth-subject')[0]!;
    assert.equal(Buffer.from(raw, 'latin1').toString('utf8'), 'jos\u00e9\tm\u00fcller \u{1f600}');
  });
});

describe('forwarded headers from an untrusted peer', () => {
  test('client X-Forwarded-* and Forwarded are replaced', async () => {
    const response = await send(proxy.proxyUrl, '/public/x', [
      'x-forwarded-for', '203.0.113.9', 'X-Forwarded-For', '198.51.100.1', 'X_Forwarded_For', '192.0.2.1',
      'x-forwarded-proto', 'https', 'x-forwarded-host', 'evil.test', 'X-Forwarded-Port', '443', 'forwarded', 'for=203.0.113.9;proto=https',
    ]);
    assert.equal(response.status, 200);
    assert.deepEqual(upstreamValues('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(upstreamValues('x-forwarded-proto'), ['http']);
    assert.deepEqual(upstreamValues('x-forwarded-host'), [upstream.last!.headers['x-forwarded-host'] as string]);
    assert.match(upstreamValues('x-forwarded-host')[0]!, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(upstreamValues('x-forwarded-port'), []);
    assert.deepEqual(upstreamValues('forwarded'), []);
  });
});

describe('forwarded headers from a trusted proxy', () => {
  let trusting: RunningProxy;
  let distrusting: RunningProxy;

  before(async () => {
    const options = { upstreamUrl: upstream.url, natsUrl: nats.url };
    trusting = await startProxy(workspace, { ...options, overrides: { server: { trustedProxies: ['10.0.0.0/8', '127.0.0.0/8'] } } }, 'trusting.yaml');
    distrusting = await startProxy(workspace, { ...options, overrides: { server: { trustedProxies: ['10.0.0.0/8', '::1/128'] } } }, 'distrusting.yaml');
  });

  after(async () => {
    await trusting?.close();
    await distrusting?.close();
  });

  test('peer is appended to the chain and proto and host are kept', async () => {
    const response = await send(trusting.proxyUrl, '/public/x', [
      'x-forwarded-for', '203.0.113.9, 10.1.2.3', 'x-forwarded-for', '10.4.5.6', 'x-forwarded-proto', 'HTTPS', 'x-forwarded-host', 'shop.example.test',
    ]);
    assert.equal(response.status, 200);
    assert.deepEqual(upstreamValues('x-forwarded-for'), ['203.0.113.9, 10.1.2.3, 10.4.5.6, 127.0.0.1']);
    assert.deepEqual(upstreamValues('x-forwarded-proto'), ['https']);
    assert.deepEqual(upstreamValues('x-forwarded-host'), ['shop.example.test']);
  });

  test('malformed proto and host from a trusted peer are replaced', async () => {
    const response = await send(trusting.proxyUrl, '/public/x', [
      'x-forwarded-proto', 'gopher', 'x-forwarded-host', 'evil.test/admin', 'x-forwarded-host', 'second.test',
    ]);
    assert.equal(response.status, 200);
    assert.deepEqual(upstreamValues('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(upstreamValues('x-forwarded-proto'), ['http']);
    assert.match(upstreamValues('x-forwarded-host')[0]!, /^127\.0\.0\.1:\d+$/);
  });

  test('underscore spellings are removed even from a trusted peer', async () => {
    const response = await send(trusting.proxyUrl, '/public/x', ['X_Forwarded_For', '192.0.2.1', 'X_Forwarded_Host', 'evil.test']);
    assert.equal(response.status, 200);
    assert.deepEqual(upstreamValues('x-forwarded-for'), ['127.0.0.1']);
    assert.ok(!upstream.last!.rawHeaders.includes('evil.test'));
  });

  test('peer outside the trusted blocks gets its headers replaced', async () => {
    const response = await send(distrusting.proxyUrl, '/public/x', ['x-forwarded-for', '203.0.113.9', 'x-forwarded-proto', 'https']);
    assert.equal(response.status, 200);
    assert.deepEqual(upstreamValues('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(upstreamValues('x-forwarded-proto'), ['http']);
  });
});

describe('host header', () => {
  const hosts: [string, number][] = [
    ['a.test', 200],
    ['a.test:8080', 200],
    ['127.0.0.1', 200],
    ['[::1]:8080', 200],
    ['a.test.', 200],
    ['a.test:65535', 200],
    ['a.test:65536', 400],
    ['a.test:99999', 400],
    ['a.test:', 400],
    ['a.test:80:80', 400],
    ['user@a.test', 400],
    ['a.test/admin', 400],
    ['a.test?x', 400],
    ['a.test#x', 400],
    ['a.test,b.test', 400],
    ['a.test b.test', 400],
    ['-a.test', 400],
    ['_a.test', 400],
    ['[zz::1]', 400],
    ['::1', 400],
    ['%61.test', 400],
    ['', 400],
  ];
  for (const [host, status] of hosts) {
    test(`Host ${JSON.stringify(host)} gets ${status}`, async () => {
      const response = await rawRequest(proxy.proxyUrl, `GET /public/x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(response.status, status, response.body);
      if (status === 400) assert.deepEqual(JSON.parse(response.body), { error: 'invalid_host' });
    });
  }

  test('missing Host on HTTP/1.1 gets 400', async () => {
    const response = await rawRequest(proxy.proxyUrl, 'GET /public/x HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.equal(response.status, 400);
    assert.deepEqual(JSON.parse(response.body), { error: 'invalid_host' });
  });

  test('two Host headers get 400', async () => {
    const response = await rawRequest(proxy.proxyUrl, 'GET /public/x HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n');
    assert.equal(response.status, 400);
  });

  test('HTTP/1.0 without Host is forwarded', async () => {
    const response = await rawRequest(proxy.proxyUrl, 'GET /public/x HTTP/1.0\r\n\r\n');
    assert.equal(response.status, 200);
    assert.deepEqual(upstreamValues('x-forwarded-host'), []);
  });

  test('Host is not forwarded; the upstream gets its own', async () => {
    const response = await rawRequest(proxy.proxyUrl, 'GET /public/x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n');
    assert.equal(response.status, 200);
    assert.equal(upstream.last!.headers.host, new URL(upstream.url).host);
    assert.deepEqual(upstreamValues('x-forwarded-host'), ['shop.test']);
  });
});
