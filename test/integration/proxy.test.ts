/**
 * The proxy path end to end: a real upstream, a real nats-server, real signed tokens.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { SignJWT, generateKeyPair } from 'jose';

import { NatsServer } from '../support/nats.js';
import { AUDIENCE, ISSUER } from '../support/issuer.js';
import { createWorkspace, eventually, get, send, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
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
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url });
  await eventually(async () => proxy.replica.synced(), 10_000);
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

describe('forwarding', () => {
  test('valid token gets 200 and identity headers', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'alice', scope: 'orders:read orders:write' } });
    const response = await get(proxy.proxyUrl, '/orders/7?x=1', token, {
      'x-auth-subject': 'mallory',
      'X_Auth_Subject': 'mallory-underscore',
      'x-auth-issuer': 'evil',
      'x-forwarded-for': '203.0.113.9',
    });
    assert.equal(response.status, 200);
    const seen = upstream.last!;
    assert.equal(seen.url, '/orders/7?x=1');
    assert.equal(seen.headers['x-auth-subject'], 'alice');
    assert.equal(seen.headers['x-auth-scopes'], 'orders:read orders:write');
    assert.equal(seen.headers['x-auth-issuer'], ISSUER);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.match(String(seen.headers['x-forwarded-host']), /^127\.0\.0\.1:\d+$/);
    const spoofed = seen.rawHeaders.filter((name) => /^x[-_]auth[-_]/i.test(name));
    assert.deepEqual(spoofed.map((name) => name.toLowerCase()).sort(), ['x-auth-issuer', 'x-auth-scopes', 'x-auth-subject']);
    assert.ok(!seen.rawHeaders.includes('mallory'));
  });

  test('authorization header is passed to the upstream', async () => {
    const token = await workspace.issuer.token();
    await get(proxy.proxyUrl, '/orders', token);
    assert.equal(upstream.last!.headers.authorization, `Bearer ${token}`);
  });

  test('request and response bodies stream both ways', async () => {
    const token = await workspace.issuer.token();
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const chunks = 32;
    const received = await new Promise<Buffer>((resolve, reject) => {
      const request = httpRequest(`${proxy.proxyUrl}/echo-body`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }, (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () => resolve(Buffer.concat(parts)));
        response.on('error', reject);
      });
      request.on('error', reject);
      let sent = 0;
      const writeNext = () => {
        while (sent < chunks) {
          sent++;
          if (!request.write(chunk)) return request.once('drain', writeNext);
        }
        request.end();
      };
      writeNext();
    });
    assert.equal(received.length, chunk.length * chunks);
    assert.equal(upstream.last!.headers['transfer-encoding'], 'chunked');
  });

  test('redirect is passed back, not followed', async () => {
    const token = await workspace.issuer.token();
    const response = await get(proxy.proxyUrl, '/redirect', token);
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/elsewhere');
    assert.equal(upstream.last!.url, '/redirect');
  });

  test('hop-by-hop and connection-listed headers are removed', async () => {
    const token = await workspace.issuer.token();
    const response = await send(proxy.proxyUrl, '/hop', [
      'authorization', `Bearer ${token}`, 'connection', 'keep-alive, X-Remove-Me', 'x-remove-me', '1', 'te', 'trailers', 'keep-alive', '5',
    ]);
    assert.equal(response.status, 200);
    assert.equal(upstream.last!.headers['x-remove-me'], undefined);
    assert.equal(upstream.last!.headers['te'], undefined);
    assert.equal(upstream.last!.headers['keep-alive'], undefined);
    assert.equal(response.headers['x-internal'], undefined);
    // Node's listener sets its own keep-alive header; the upstream's value must not come through.
    assert.notEqual(response.headers['keep-alive'], 'timeout=99');
    assert.equal(response.headers['x-public'], 'yes');
  });

  test('repeated set-cookie headers survive', async () => {
    const token = await workspace.issuer.token();
    const response = await get(proxy.proxyUrl, '/orders', token);
    assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2']);
  });

  test('path is canonicalized before matching and forwarding', async () => {
    const token = await workspace.issuer.token();
    const response = await send(proxy.proxyUrl, '/public/..//%61dmin/./x', ['authorization', `Bearer ${token}`]);
    assert.equal(response.status, 200);
    assert.equal(upstream.last!.url, '/admin/x');
  });

  test('auth none route drops the authorization header', async () => {
    const token = await workspace.issuer.token();
    const response = await get(proxy.proxyUrl, '/public/info', token);
    assert.equal(response.status, 200);
    assert.equal(upstream.last!.headers.authorization, undefined);
  });

  test('rewrite and client address headers are removed', async () => {
    const token = await workspace.issuer.token();
    const response = await send(proxy.proxyUrl, '/orders', [
      'authorization', `Bearer ${token}`, 'x-original-url', '/admin', 'X_HTTP_Method_Override', 'DELETE', 'x-real-ip', '10.9.9.9', 'remote-user', 'root',
    ]);
    assert.equal(response.status, 200);
    const names = upstream.last!.rawHeaders.filter((_, index) => index % 2 === 0).map((name) => name.toLowerCase());
    for (const removed of ['x-original-url', 'x_http_method_override', 'x-real-ip', 'remote-user']) {
      assert.ok(!names.includes(removed), `${removed} reached the upstream`);
    }
  });

  test('malformed or duplicate host gets 400', async () => {
    for (const headers of [['host', 'evil/admin'], ['host', 'a@evil:1'], ['host', 'a.test', 'host', 'b.test']]) {
      const response = await send(proxy.proxyUrl, '/public/x', headers);
      assert.equal(response.status, 400, headers.join(' '));
      assert.deepEqual(JSON.parse(response.body), { error: 'invalid_host' });
    }
  });

  test('semicolon path parameter gets 400', async () => {
    const token = await workspace.issuer.token({ claims: { scope: 'orders:read' } });
    const response = await send(proxy.proxyUrl, '/;/reports/x', ['authorization', `Bearer ${token}`]);
    assert.equal(response.status, 400);
  });

  test('ambiguous path gets 400', async () => {
    const response = await send(proxy.proxyUrl, '/public/%2e%2e/admin');
    assert.equal(response.status, 400);
    assert.deepEqual(JSON.parse(response.body), { error: 'invalid_path' });
  });
});

describe('authentication', () => {
  const now = () => Math.floor(Date.now() / 1000);

  const cases: { name: string; token: () => Promise<string>; reason: string }[] = [
    { name: 'expired', token: () => workspace.issuer.token({ claims: { iat: now() - 600, exp: now() - 60 } }), reason: 'token_expired' },
    { name: 'wrong iss', token: () => workspace.issuer.token({ claims: { iss: 'https://other.test' } }), reason: 'unknown_issuer' },
    { name: 'wrong aud', token: () => workspace.issuer.token({ claims: { aud: 'another-api' } }), reason: 'invalid_claims' },
    { name: 'missing exp', token: () => workspace.issuer.token({ omit: ['exp'] }), reason: 'invalid_claims' },
    { name: 'missing iat', token: () => workspace.issuer.token({ omit: ['iat'] }), reason: 'invalid_claims' },
    { name: 'lifetime over max', token: () => workspace.issuer.token({ claims: { exp: now() + 7200 } }), reason: 'lifetime_exceeded' },
    { name: 'iat in the future', token: () => workspace.issuer.token({ claims: { iat: now() + 120, exp: now() + 400 } }), reason: 'token_not_yet_valid' },
    { name: 'unknown key', token: () => workspace.issuer.token({ untrusted: true, header: { kid: 'other' } }), reason: 'unknown_key' },
    { name: 'bad signature', token: () => workspace.issuer.token({ untrusted: true }), reason: 'invalid_signature' },
    { name: 'disallowed alg', token: disallowedAlgorithmToken, reason: 'algorithm_not_allowed' },
    { name: 'alg none', token: async () => unsignedToken('none'), reason: 'algorithm_not_allowed' },
    { name: 'alg NoNe', token: async () => unsignedToken('NoNe'), reason: 'algorithm_not_allowed' },
    { name: 'garbage', token: async () => 'abc.def.ghi', reason: 'malformed_token' },
  ];

  for (const { name, token, reason } of cases) {
    test(`${name} gets 401 ${reason}`, async () => {
      const seenBefore = upstream.seen.length;
      const sent = await token();
      const response = await get(proxy.proxyUrl, '/orders', sent);
      assert.equal(response.status, 401);
      assert.deepEqual(JSON.parse(response.body), { error: reason });
      assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.equal(upstream.seen.length, seenBefore, 'the upstream must not see a rejected request');
      assert.ok(!response.body.includes(sent.slice(0, 20)));
    });
  }

  test('missing token gets 401 with a bare challenge', async () => {
    const response = await get(proxy.proxyUrl, '/orders');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(JSON.parse(response.body), { error: 'missing_token' });
  });

  test('lower-case scheme is accepted', async () => {
    const token = await workspace.issuer.token();
    const response = await get(proxy.proxyUrl, '/orders', undefined, { authorization: `bEaReR ${token}` });
    assert.equal(response.status, 200);
  });

  test('token in the query string gets 400', async () => {
    const token = await workspace.issuer.token();
    const response = await get(proxy.proxyUrl, `/orders?access_token=${token}`);
    assert.equal(response.status, 400);
    assert.deepEqual(JSON.parse(response.body), { error: 'token_in_query' });
  });

  test('two authorization headers get 400', async () => {
    const token = await workspace.issuer.token();
    const response = await send(proxy.proxyUrl, '/orders', ['authorization', `Bearer ${token}`, 'authorization', 'Bearer x.y.z']);
    assert.equal(response.status, 400);
    assert.deepEqual(JSON.parse(response.body), { error: 'duplicate_authorization' });
  });

  test('missing scope gets 403', async () => {
    const token = await workspace.issuer.token({ claims: { scope: 'orders:read' } });
    const response = await get(proxy.proxyUrl, '/reports/q3', token);
    assert.equal(response.status, 403);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="reports:read"');
  });

  test('granted scope from scp array passes', async () => {
    const token = await workspace.issuer.token({ claims: { scp: ['reports:read'] } });
    const response = await get(proxy.proxyUrl, '/reports/q3', token);
    assert.equal(response.status, 200);
  });

  test('auth none route needs no token', async () => {
    const response = await get(proxy.proxyUrl, '/public/info');
    assert.equal(response.status, 200);
    assert.equal(upstream.last!.headers['x-auth-subject'], undefined);
  });

  test('optional route forwards anonymous requests', async () => {
    const response = await get(proxy.proxyUrl, '/maybe', undefined, { 'x-auth-subject': 'spoof' });
    assert.equal(response.status, 200);
    assert.equal(upstream.last!.headers['x-auth-subject'], undefined);
  });

  test('optional route still rejects a bad token', async () => {
    const response = await get(proxy.proxyUrl, '/maybe', 'abc.def.ghi');
    assert.equal(response.status, 401);
  });

  test('claim with a newline gets 401', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'alice\r\nx-admin: 1' } });
    const response = await get(proxy.proxyUrl, '/orders', token);
    assert.equal(response.status, 401);
    assert.deepEqual(JSON.parse(response.body), { error: 'invalid_claim_value' });
  });

  test('no log line contains a token', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'log-check' } });
    await get(proxy.proxyUrl, '/orders', token);
    await get(proxy.proxyUrl, '/orders', `${token}x`);
    const signature = token.split('.')[2]!;
    assert.ok(proxy.logs.length > 0);
    assert.ok(proxy.logs.every((line) => !line.includes(signature)));
    assert.ok(proxy.logs.every((line) => !line.includes('log-check')));
  });
});

describe('upstream failures', () => {
  test('refused connection gets 502', async () => {
    const closed = await TestUpstream.start();
    const url = closed.url;
    await closed.close();
    const other = await startProxy(workspace, { upstreamUrl: url, natsUrl: nats.url }, 'refused.yaml');
    try {
      const response = await get(other.proxyUrl, '/orders', await workspace.issuer.token());
      assert.equal(response.status, 502);
      assert.deepEqual(JSON.parse(response.body), { error: 'upstream_unavailable' });
    } finally {
      await other.close();
    }
  });

  test('slow upstream gets 504', async () => {
    const response = await get(proxy.proxyUrl, '/slow', await workspace.issuer.token());
    assert.equal(response.status, 504);
    assert.deepEqual(JSON.parse(response.body), { error: 'upstream_timeout' });
  });
});

describe('client limits', () => {
  test('slow headers get 408', async () => {
    const slow = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, overrides: { server: { headersTimeout: '1s', requestTimeout: '2s' } } }, 'slow.yaml');
    try {
      const { port } = new URL(slow.proxyUrl);
      const started = Date.now();
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET /orders HTTP/1.1\r\nHost: a.test\r\nX-Slow: 1'));
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      assert.match(reply, /^HTTP\/1\.1 408 /);
      assert.ok(Date.now() - started < 5000, `closed after ${Date.now() - started}ms`);
    } finally {
      await slow.close();
    }
  });
});

describe('admin listener', () => {
  test('healthz and readyz answer 200 after sync', async () => {
    assert.equal((await get(proxy.adminUrl, '/healthz')).status, 200);
    assert.equal((await get(proxy.adminUrl, '/readyz')).status, 200);
  });

  test('metrics expose staleness and request counts', async () => {
    const body = (await get(proxy.adminUrl, '/metrics')).body;
    const staleness = /^revgate_replica_staleness_seconds (\S+)$/m.exec(body);
    assert.ok(staleness, 'staleness gauge is present');
    assert.ok(Number(staleness[1]) < 2);
    assert.match(body, /^revgate_requests_total\{route="\/",decision="rejected",reason="token_expired"\} \d+$/m);
  });
});

async function disallowedAlgorithmToken(): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'x', iat: now, exp: now + 60 })
    .setProtectedHeader({ alg: 'RS256', kid: 'issuer-key-1' })
    .sign(privateKey);
}

function unsignedToken(alg: string): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg, typ: 'JWT' })}.${encode({ iss: ISSUER, aud: AUDIENCE, sub: 'x', iat: now, exp: now + 60 })}.`;
}
