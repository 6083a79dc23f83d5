/**
 * Message framing and client limits over raw TCP: conflicting or malformed Content-Length and
 * Transfer-Encoding (the request-smuggling family), obs-fold and other parser leniencies, header
 * size, request and keep-alive timeouts, the connection limit, and Expect: 100-continue.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { NatsServer } from '../support/nats.js';
import { lastAccessLine, requestCount } from '../support/observe.js';
import { createWorkspace, eventually, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { RawConnection, rawRequest } from '../support/raw-http.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
let proxy: RunningProxy;
let token: string;

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }, 'hostile-framing.yaml');
  await eventually(async () => proxy.replica.synced(), 10_000);
  token = await workspace.issuer.token();
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

/** Builds a POST to /echo-body with a valid token and the given framing headers and body bytes. */
function post(framing: string, body: string, target = '/echo-body'): string {
  return `POST ${target} HTTP/1.1\r\nHost: a.test\r\nAuthorization: Bearer ${token}\r\n${framing}\r\n${body}`;
}

const SECOND_REQUEST = 'GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n';

describe('request framing', () => {
  const rejected: [string, () => string][] = [
    ['Content-Length with Transfer-Encoding', () => post('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${SECOND_REQUEST}`)],
    ['Transfer-Encoding with Content-Length', () => post('Transfer-Encoding: chunked\r\nContent-Length: 40\r\n', `0\r\n\r\n${SECOND_REQUEST}`)],
    ['two equal Content-Length headers', () => post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello')],
    ['two different Content-Length headers', () => post('Content-Length: 5\r\nContent-Length: 45\r\n', `hello${SECOND_REQUEST}`)],
    ['Content-Length list', () => post('Content-Length: 5, 5\r\n', 'hello')],
    ['Content-Length with a plus sign', () => post('Content-Length: +5\r\n', 'hello')],
    ['negative Content-Length', () => post('Content-Length: -1\r\n', '')],
    ['Content-Length with letters', () => post('Content-Length: 5a\r\n', 'hello')],
    ['hexadecimal Content-Length', () => post('Content-Length: 0x5\r\n', 'hello')],
    ['Content-Length over 2^64', () => post('Content-Length: 99999999999999999999999\r\n', 'hello')],
    ['Transfer-Encoding chunked, identity', () => post('Transfer-Encoding: chunked, identity\r\n', '0\r\n\r\n')],
    ['two Transfer-Encoding headers', () => post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
    ['Transfer-Encoding with a trailing tab', () => post('Transfer-Encoding: chunked\t\r\n', '5\r\nhello\r\n0\r\n\r\n')],
    ['Transfer-Encoding with a vertical tab', () => post('Transfer-Encoding: \u000bchunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
    ['space before the colon', () => post('Transfer-Encoding : chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
    ['obs-fold', () => `GET /public/x HTTP/1.1\r\nHost: a.test\r\nX-Folded: a\r\n b\r\n\r\n`],
    ['obs-fold of Transfer-Encoding', () => post('Transfer-Encoding:\r\n chunked\r\n', '5\r\nhello\r\n0\r\n\r\n')],
    ['bare LF line ends', () => 'GET /public/x HTTP/1.1\nHost: a.test\n\n'],
    ['bare CR', () => 'GET /public/x HTTP/1.1\rHost: a.test\r\n\r\n'],
    ['NUL in a header value', () => 'GET /public/x HTTP/1.1\r\nHost: a.test\r\nX-A: a\u0000b\r\n\r\n'],
    ['header line without a colon', () => 'GET /public/x HTTP/1.1\r\nHost: a.test\r\nX-A\r\n\r\n'],
    ['empty header name', () => 'GET /public/x HTTP/1.1\r\nHost: a.test\r\n: a\r\n\r\n'],
    ['space in the method', () => 'G ET /public/x HTTP/1.1\r\nHost: a.test\r\n\r\n'],
    ['HTTP/1.2', () => 'GET /public/x HTTP/1.2\r\nHost: a.test\r\n\r\n'],
    ['chunk size with a space', () => post('Transfer-Encoding: chunked\r\n', '5 \r\nhello\r\n0\r\n\r\n')],
    ['chunk lines ending in LF', () => post('Transfer-Encoding: chunked\r\n', '5\nhello\n0\n\n')],
    ['chunk longer than its size', () => post('Transfer-Encoding: chunked\r\n', '2\r\nhello\r\n0\r\n\r\n')],
  ];

  for (const [name, request] of rejected) {
    test(`${name} gets 400`, async () => {
      const seenBefore = upstream.seen.length;
      const connection = await RawConnection.open(proxy.proxyUrl);
      try {
        await connection.write(request());
        const response = await connection.response();
        assert.equal(response.status, 400);
        assert.deepEqual(JSON.parse(response.body), { error: 'invalid_request' });
        await connection.waitForClose();
        assert.equal((connection.text.match(/HTTP\/1\.1 /g) ?? []).length, 1, 'exactly one response: nothing after it was parsed');
      } finally {
        connection.close();
      }
      assert.ok(!upstream.seen.slice(seenBefore).some((seen) => seen.url === '/smuggled'), 'the smuggled request reached the upstream');
      assert.equal(lastAccessLine(proxy.logs).reason, 'invalid_request');
    });
  }

  // Node's parser rejects these only once it reads the body, after the pipeline has seen the head.
  for (const coding of ['xchunked', 'identity', 'gzip, chunked', 'chunked;q=1']) {
    test(`Transfer-Encoding ${coding} gets 501`, async () => {
      const seenBefore = upstream.seen.length;
      const connection = await RawConnection.open(proxy.proxyUrl);
      try {
        await connection.write(post(`Transfer-Encoding: ${coding}\r\n`, `5\r\nhello\r\n0\r\n\r\n${SECOND_REQUEST}`));
        const response = await connection.response();
        assert.equal(response.status, 501);
        assert.deepEqual(JSON.parse(response.body), { error: 'unsupported_transfer_coding' });
        await connection.waitForClose();
        assert.equal((connection.text.match(/HTTP\/1\.1 /g) ?? []).length, 1, 'exactly one response');
      } finally {
        connection.close();
      }
      assert.equal(upstream.seen.length, seenBefore);
    });
  }

  test('Transfer-Encoding with leading whitespace is plain chunked', async () => {
    const response = await rawRequest(proxy.proxyUrl, post('Transfer-Encoding:   chunked\r\nConnection: close\r\n', '5\r\nhello\r\n0\r\n\r\n'));
    assert.equal(response.status, 200);
    assert.equal(response.body, 'hello');
  });

  test('Transfer-Encoding CHUNKED in capitals is plain chunked', async () => {
    const response = await rawRequest(proxy.proxyUrl, post('Transfer-Encoding: CHUNKED\r\nConnection: close\r\n', '5\r\nhello\r\n0\r\n\r\n'));
    assert.equal(response.status, 200);
    assert.equal(response.body, 'hello');
  });

  test('chunk extensions are dropped and the body forwarded', async () => {
    const response = await rawRequest(proxy.proxyUrl, post('Transfer-Encoding: chunked\r\nConnection: close\r\n', '5;ext="a\\"b"\r\nhello\r\n0\r\n\r\n'));
    assert.equal(response.status, 200);
    assert.equal(response.body, 'hello');
  });

  test('pipelined requests on one connection are answered in order', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl);
    try {
      await connection.write(`${post('Content-Length: 5\r\n', 'hello')}${post('Content-Length: 5\r\nConnection: close\r\n', 'world')}`);
      await connection.waitForClose();
      const bodies = connection.text.split(/HTTP\/1\.1 200 OK/).slice(1);
      assert.equal(bodies.length, 2);
      assert.match(bodies[0]!, /hello/);
      assert.match(bodies[1]!, /world/);
    } finally {
      connection.close();
    }
  });

});

/** Starts an upstream that streams /echo-body back at once and responds to anything else after the whole body arrived. */
async function startBodyUpstream(): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    if (request.url === '/echo-body') {
      response.writeHead(200);
      request.pipe(response);
      return;
    }
    request.resume();
    request.on('end', () => response.end('complete'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('client limits', () => {
  let limited: RunningProxy;
  let bodyUpstream: http.Server;

  before(async () => {
    bodyUpstream = await startBodyUpstream();
    const upstreamUrl = `http://127.0.0.1:${(bodyUpstream.address() as AddressInfo).port}`;
    const server = { maxHeaderSize: 2048, headersTimeout: '1s', requestTimeout: '2s', keepAliveTimeout: '500ms' };
    limited = await startProxy(workspace, { upstreamUrl, natsUrl: nats.url, overrides: { server } }, 'limited.yaml');
  });

  after(async () => {
    await limited?.close();
    bodyUpstream?.closeAllConnections();
    await new Promise((resolve) => bodyUpstream?.close(resolve));
  });

  test('header block under maxHeaderSize passes', async () => {
    const response = await rawRequest(limited.proxyUrl, `GET /public/x HTTP/1.1\r\nHost: a.test\r\nX-Pad: ${'a'.repeat(1500)}\r\nConnection: close\r\n\r\n`);
    assert.equal(response.status, 200);
  });

  test('header block over maxHeaderSize gets 431', async () => {
    const countBefore = await requestCount(limited.adminUrl, { route: 'unmatched', decision: 'rejected', reason: 'headers_too_large' });
    const response = await rawRequest(limited.proxyUrl, `GET /public/x HTTP/1.1\r\nHost: a.test\r\nX-Pad: ${'a'.repeat(3000)}\r\n\r\n`);
    assert.equal(response.status, 431);
    assert.deepEqual(JSON.parse(response.body), { error: 'headers_too_large' });
    assert.equal(await requestCount(limited.adminUrl, { route: 'unmatched', decision: 'rejected', reason: 'headers_too_large' }), countBefore + 1);
  });

  // Node counts the bytes of names and values toward maxHeaderSize, not the separators.
  test('many small headers over maxHeaderSize get 431', async () => {
    const headers = Array.from({ length: 600 }, (_, index) => `X-${index}: v\r\n`).join('');
    const response = await rawRequest(limited.proxyUrl, `GET /public/x HTTP/1.1\r\nHost: a.test\r\n${headers}\r\n`);
    assert.equal(response.status, 431);
  });

  test('slow headers get 408 after headersTimeout', async () => {
    const started = Date.now();
    const connection = await RawConnection.open(limited.proxyUrl);
    try {
      await connection.write('GET /public/x HTTP/1.1\r\nHost: a.test\r\n');
      const response = await connection.response(6000);
      assert.equal(response.status, 408);
      assert.deepEqual(JSON.parse(response.body), { error: 'request_timeout' });
      assert.ok(Date.now() - started < 4000, `answered after ${Date.now() - started}ms`);
      assert.equal(lastAccessLine(limited.logs).reason, 'request_timeout');
    } finally {
      connection.close();
    }
  });

  test('headers sent one byte at a time still time out', async () => {
    const started = Date.now();
    const connection = await RawConnection.open(limited.proxyUrl);
    try {
      const request = `GET /public/x HTTP/1.1\r\nHost: a.test\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`;
      for (let index = 0; index < request.length && !connection.isClosed && Date.now() - started < 6000; index++) {
        await connection.write(request[index]!);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await connection.waitForClose(6000);
      assert.match(connection.text, /^HTTP\/1\.1 408 /);
      assert.ok(Date.now() - started < 5000, `closed after ${Date.now() - started}ms`);
    } finally {
      connection.close();
    }
  });

  test('slow body gets 408 before the upstream answers', async () => {
    const started = Date.now();
    const connection = await RawConnection.open(limited.proxyUrl);
    try {
      // This upstream responds to /orders only after the whole body arrived, so no response has started.
      await connection.write(`POST /orders HTTP/1.1\r\nHost: a.test\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100\r\n\r\nhello`);
      const response = await connection.response(8000);
      assert.equal(response.status, 408);
      assert.deepEqual(JSON.parse(response.body), { error: 'request_timeout' });
      await connection.waitForClose();
      assert.ok(Date.now() - started < 6000, `closed after ${Date.now() - started}ms`);
      const line = lastAccessLine(limited.logs);
      assert.equal(line.reason, 'request_timeout');
      assert.equal(line.status, 408);
    } finally {
      connection.close();
    }
  });

  test('slow body after the response started is cut', async () => {
    const started = Date.now();
    const connection = await RawConnection.open(limited.proxyUrl);
    try {
      // /echo-body responds at once and streams the body back, so the response has started.
      await connection.write(post('Content-Length: 100\r\n', 'hello'));
      await connection.waitForClose(8000);
      assert.ok(Date.now() - started < 6000, `closed after ${Date.now() - started}ms`);
      assert.match(connection.text, /^HTTP\/1\.1 200 /);
      assert.ok(!connection.text.endsWith('0\r\n\r\n'), 'the cut response must not look complete');
    } finally {
      connection.close();
    }
  });

  test('idle keep-alive connection is closed after keepAliveTimeout', async () => {
    const connection = await RawConnection.open(limited.proxyUrl);
    try {
      await connection.write('GET /public/x HTTP/1.1\r\nHost: a.test\r\n\r\n');
      const response = await connection.response();
      assert.equal(response.status, 200);
      const answered = Date.now();
      await connection.waitForClose(5000);
      const idle = Date.now() - answered;
      assert.ok(idle >= 300, `closed after ${idle}ms idle`);
      assert.ok(idle < 3000, `closed after ${idle}ms idle`);
    } finally {
      connection.close();
    }
  });
});

describe('connection limit', () => {
  let limited: RunningProxy;

  before(async () => {
    limited = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, overrides: { server: { maxConnections: 3 } } }, 'max-connections.yaml');
  });

  after(async () => {
    await limited?.close();
  });

  test('connections over maxConnections are closed at once', async () => {
    const held = await Promise.all([1, 2, 3].map(() => RawConnection.open(limited.proxyUrl)));
    try {
      // Each held connection has sent part of a request, so it counts as open.
      for (const connection of held) await connection.write('GET /public/x HTTP/1.1\r\n');
      await new Promise((resolve) => setTimeout(resolve, 100));

      const extra = await RawConnection.open(limited.proxyUrl);
      await extra.write('GET /public/x HTTP/1.1\r\nHost: a.test\r\n\r\n');
      await extra.waitForClose(2000);
      assert.equal(extra.text, '', 'a dropped connection gets no response');
      assert.ok(limited.logs.some((line) => line.includes('client connections closed at server.maxConnections')));

      held[0]!.close();
      await eventually(async () => {
        const response = await rawRequest(limited.proxyUrl, 'GET /public/x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n').catch(() => undefined);
        return response?.status === 200;
      }, 3000);
    } finally {
      for (const connection of held) connection.close();
    }
  });
});

describe('expect 100-continue', () => {
  test('client gets 100 Continue and the body reaches the upstream', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl);
    try {
      await connection.write(post('Expect: 100-continue\r\nContent-Length: 11\r\nConnection: close\r\n', ''));
      await connection.waitFor((current) => current.text.includes('\r\n\r\n'));
      assert.match(connection.text, /^HTTP\/1\.1 100 Continue\r\n/);

      await connection.write('hello world');
      const response = await connection.response();
      assert.equal(response.status, 200);
      assert.equal(response.body, 'hello world');
      assert.equal(upstream.last!.headers.expect, undefined, 'Expect is not passed upstream');
    } finally {
      connection.close();
    }
  });

  test('rejected request gets no 100 Continue', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl);
    try {
      await connection.write('POST /echo-body HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n');
      const response = await connection.response();
      assert.equal(response.status, 401);
      assert.doesNotMatch(connection.text, /100 Continue/);
    } finally {
      connection.close();
    }
  });

  test('unknown expectation gets 417', async () => {
    const response = await rawRequest(proxy.proxyUrl, post('Expect: 200-ok\r\nContent-Length: 5\r\nConnection: close\r\n', 'hello'));
    assert.equal(response.status, 417);
  });
});
