/**
 * Generated requests through a running proxy (real nats-server, real upstream, a real token):
 * arbitrary request targets, Authorization values and header lists. No request may get a 5xx
 * (the upstream is healthy and the replica synced), the same bytes must get the same response
 * twice, and a forwarded request must reach the upstream with exactly its canonical target.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import fc from 'fast-check';

import { canonicalizeTarget } from '../../proxy/routes/canonical-path.js';
import { fuzzParameters } from '../support/fuzz.js';
import { NatsServer } from '../support/nats.js';
import { createWorkspace, eventually, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { rawRequest, type RawResponse } from '../support/raw-http.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

/** Property runs here send real requests, so they get a hundredth of FUZZ_RUNS. */
const REQUEST_COST = 100;

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
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }, 'fuzz.yaml');
  await eventually(async () => proxy.replica.synced(), 10_000);
  // A token lives five minutes; a long run makes fresh ones as it goes.
  token = await workspace.issuer.token({ claims: { scope: 'reports:read' } });
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

let tokenIssuedAt = Date.now();

async function currentToken(): Promise<string> {
  if (Date.now() - tokenIssuedAt > 60_000) {
    token = await workspace.issuer.token({ claims: { scope: 'reports:read' } });
    tokenIssuedAt = Date.now();
  }
  return token;
}

function assertNoServerError(response: RawResponse, request: string): void {
  const allowed = response.status < 500 || (response.status === 501 && response.body.includes('upgrade_not_supported'));
  assert.ok(allowed, `${response.status} ${response.body} for ${JSON.stringify(request.slice(0, 200))}`);
}

/** Sends the same request twice, checks that both responses agree, and returns the first. */
async function sendTwice(request: string): Promise<RawResponse> {
  const first = await rawRequest(proxy.proxyUrl, Buffer.from(request, 'latin1'));
  const second = await rawRequest(proxy.proxyUrl, Buffer.from(request, 'latin1'));
  assert.equal(second.status, first.status, 'same request, same status');
  assert.equal(second.body, first.body, 'same request, same body');
  return first;
}

const TARGET_PIECES = [
  '/', '//', '.', '..', '%2e', '%2F', '%5c', '%25', '%41', '%61', '%7e', '%3b', '%zz', '%', ';', '\\', '?', '#', '&', '=',
  'admin', 'ADMIN', 'public', 'reports', 'maybe', 'echo', 'x', '~', '-', '\u00e4', '*', ':', '@', 'http:',
];
const target = fc.array(fc.constantFrom(...TARGET_PIECES), { minLength: 1, maxLength: 16 }).map((pieces) => pieces.join(''));

test('generated targets never get a 5xx and forward their canonical form', async () => {
  await fc.assert(
    fc.asyncProperty(target, async (path) => {
      const request = `GET ${path} HTTP/1.1\r\nHost: a.test\r\nAuthorization: Bearer ${await currentToken()}\r\nConnection: close\r\n\r\n`;
      const seenBefore = upstream.seen.length;
      const response = await sendTwice(request);
      assertNoServerError(response, request);

      const canonical = canonicalizeTarget(path);
      if (upstream.seen.length === seenBefore) return;
      assert.ok(canonical, `${JSON.stringify(path)} was forwarded but is not canonicalizable`);
      assert.equal(upstream.last!.url, `${canonical.path}${canonical.query}`);
    }),
    fuzzParameters(60, REQUEST_COST),
  );
});

const authorizationPiece = fc.constantFrom('Bearer ', 'bearer ', 'Basic ', ' ', '\t', '.', 'eyJ', 'a', '-', '_', '=', '+', '/', ',', '"', '\u00ff');
const authorization = fc.oneof(
  fc.array(authorizationPiece, { maxLength: 12 }).map((pieces) => pieces.join('')),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
);

test('generated Authorization values never get a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(authorization, { maxLength: 2 }), fc.constantFrom('/orders', '/maybe/x', '/admin'), async (values, path) => {
      const headers = values.map((value) => `Authorization: ${value}\r\n`).join('');
      const request = `GET ${path} HTTP/1.1\r\nHost: a.test\r\n${headers}Connection: close\r\n\r\n`;
      const response = await sendTwice(request);
      assertNoServerError(response, request);
      if (values.length === 0 && path !== '/maybe/x') assert.equal(response.status, 401);
    }),
    fuzzParameters(60, REQUEST_COST),
  );
});

const headerName = fc.oneof(
  fc.constantFrom('Connection', 'Host', 'X-Auth-Subject', 'X_Auth_Subject', 'X-Forwarded-For', 'Forwarded', 'TE', 'Keep-Alive', 'Proxy-Authorization', 'X-Original-URL'),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,12}$/),
);
const headerLine = fc.tuple(headerName, fc.string({ unit: 'grapheme-ascii', maxLength: 24 }));

test('generated header lists never get a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(headerLine, { maxLength: 8 }), async (lines) => {
      // Framing headers would make the proxy wait for a body that never comes; hostile-framing.test.ts covers them.
      const safeLines = lines.filter(([name]) => !/^(content-length|transfer-encoding|expect|upgrade)$/i.test(name));
      const headers = safeLines.map(([name, value]) => `${name}: ${value}\r\n`).join('');
      const hasHost = safeLines.some(([name]) => name.toLowerCase() === 'host');
      const request = `GET /orders HTTP/1.1\r\n${hasHost ? '' : 'Host: a.test\r\n'}Authorization: Bearer ${await currentToken()}\r\n${headers}Connection: close\r\n\r\n`;
      const response = await sendTwice(request);
      assertNoServerError(response, request);
    }),
    fuzzParameters(60, REQUEST_COST),
  );
});
