/**
 * Request targets that try to reach one route while looking like another, sent byte for byte over
 * raw TCP through a running proxy. For each accepted target the test checks the route that
 * matched (from the access log) and the exact target the upstream received: the upstream must get
 * the canonical path that was matched, plus the original query string.
 *
 * Routes of the test proxy, first match wins: /admin (privileged), /reports (scope reports:read),
 * /public (no auth), /maybe (optional auth), / (catch-all).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { NatsServer } from '../support/nats.js';
import { lastAccessLine } from '../support/observe.js';
import { createWorkspace, eventually, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { rawRequest } from '../support/raw-http.js';
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
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url }, 'hostile-paths.yaml');
  await eventually(async () => proxy.replica.synced(), 10_000);
  token = await workspace.issuer.token({ claims: { scope: 'reports:read' } });
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

interface PathCase {
  target: string;
  method?: string;
  status: number;
  /** For a forwarded request: the route that must match and the exact target the upstream must receive. */
  route?: string;
  forwarded?: string;
  /** For a rejected request: the error reason. */
  reason?: string;
}

const forwarded = (target: string, route: string, upstreamTarget: string): PathCase => ({ target, status: 200, route, forwarded: upstreamTarget });
const rejected = (target: string, status: number, reason: string): PathCase => ({ target, status, reason });

const CASES: PathCase[] = [
  // Dot segments and repeated slashes resolve before matching.
  forwarded('/public/../admin', '/admin', '/admin'),
  forwarded('//admin', '/admin', '/admin'),
  forwarded('///admin//users', '/admin', '/admin/users'),
  forwarded('/admin/./', '/admin', '/admin/'),
  forwarded('/admin/.', '/admin', '/admin/'),
  forwarded('/./admin', '/admin', '/admin'),
  forwarded('/public//..//admin', '/admin', '/admin'),
  forwarded('/public/x/../../admin', '/admin', '/admin'),
  forwarded('/reports/../admin', '/admin', '/admin'),
  forwarded('/admin/x/..', '/admin', '/admin/'),
  forwarded('/.../admin', '/', '/.../admin'),
  forwarded('/..admin', '/', '/..admin'),

  // Letter case: prefixes match without regard to case, and the path is forwarded as sent.
  forwarded('/ADMIN', '/admin', '/ADMIN'),
  forwarded('/AdMiN/users', '/admin', '/AdMiN/users'),
  forwarded('/REPORTS/q3', '/reports', '/REPORTS/q3'),
  forwarded('/Public/x', '/public', '/Public/x'),

  // Prefixes are plain string prefixes. That widens a protective route, and also a relaxed one:
  // the auth-none route /public covers /publications, so relaxed routes should end in "/".
  forwarded('/administrator', '/admin', '/administrator'),
  forwarded('/admin-panel', '/admin', '/admin-panel'),
  forwarded('/admin.json', '/admin', '/admin.json'),
  forwarded('/publications', '/public', '/publications'),

  // Escapes of unreserved characters are decoded; others stay encoded in upper case.
  forwarded('/%61dmin', '/admin', '/admin'),
  forwarded('/%41DMIN', '/admin', '/ADMIN'),
  forwarded('/pub%6cic/x', '/public', '/public/x'),
  forwarded('/%7eadmin', '/', '/~admin'),
  forwarded('/admin%23', '/admin', '/admin%23'),
  forwarded('/admin%3f', '/admin', '/admin%3F'),
  forwarded('/%c3%a4dmin', '/', '/%C3%A4dmin'),
  forwarded('/admin%20x', '/admin', '/admin%20x'),

  // The query string never takes part in matching and is forwarded unchanged.
  forwarded('/admin?x=/public', '/admin', '/admin?x=/public'),
  forwarded('/public?x=/admin', '/public', '/public?x=/admin'),
  forwarded('/?/admin', '/', '/?/admin'),
  forwarded('/public?../admin', '/public', '/public?../admin'),
  forwarded('/public?x=%2F..%2Fadmin', '/public', '/public?x=%2F..%2Fadmin'),
  forwarded('/admin?', '/admin', '/admin?'),

  // Ambiguous paths.
  rejected('/%2Fadmin', 400, 'invalid_path'),
  rejected('/%2fadmin', 400, 'invalid_path'),
  rejected('/public%2F..%2Fadmin', 400, 'invalid_path'),
  rejected('/public/%2e%2e/admin', 400, 'invalid_path'),
  rejected('/public/.%2E/admin', 400, 'invalid_path'),
  rejected('/public/..%5cadmin', 400, 'invalid_path'),
  rejected('/public/..\\admin', 400, 'invalid_path'),
  rejected('/admin;x=y', 400, 'invalid_path'),
  rejected('/admin%3Bx', 400, 'invalid_path'),
  rejected('/public/..;/admin', 400, 'invalid_path'),
  rejected('/..;/admin', 400, 'invalid_path'),
  rejected('/admin%00', 400, 'invalid_path'),
  rejected('/admin%2e', 400, 'invalid_path'),
  rejected('/%2561dmin', 400, 'invalid_path'),
  rejected('/%252e%252e/admin', 400, 'invalid_path'),
  rejected('/%25%32%65/admin', 400, 'invalid_path'),
  rejected('/admin%zz', 400, 'invalid_path'),
  rejected('/admin%4', 400, 'invalid_path'),
  rejected('/../admin', 400, 'invalid_path'),
  rejected('/public/../../admin', 400, 'invalid_path'),
  rejected('/admin#fragment', 400, 'invalid_path'),

  // Target forms other than origin form.
  rejected('http://127.0.0.1/admin', 400, 'invalid_path'),
  rejected('HTTP://evil.test/public', 400, 'invalid_path'),
  { target: '*', method: 'OPTIONS', status: 400, reason: 'invalid_path' },
  { target: '127.0.0.1:1', method: 'CONNECT', status: 405, reason: 'method_not_allowed' },

  // Bytes that Node's parser rejects before the pipeline receives the request.
  rejected('/admin\tx', 400, 'invalid_request'),
  rejected('/\u00e4dmin', 400, 'invalid_request'),
  rejected('/admin\u007f', 400, 'invalid_request'),
];

describe('hostile paths', () => {
  test('table has at least 40 cases', () => {
    assert.ok(CASES.length >= 40, `${CASES.length} cases`);
  });

  for (const testCase of CASES) {
    const method = testCase.method ?? 'GET';
    test(`${method} ${JSON.stringify(testCase.target)} gets ${testCase.status}`, async () => {
      const seenBefore = upstream.seen.length;
      const request =
        `${method} ${testCase.target} HTTP/1.1\r\nHost: a.test\r\nAuthorization: Bearer ${token}\r\n` +
        'Connection: close\r\n\r\n';

      const response = await rawRequest(proxy.proxyUrl, Buffer.from(request, 'latin1'));

      assert.equal(response.status, testCase.status, response.body);
      const line = lastAccessLine(proxy.logs);
      if (testCase.forwarded !== undefined) {
        assert.equal(upstream.seen.length, seenBefore + 1, 'the upstream received the request');
        assert.equal(upstream.last!.url, testCase.forwarded, 'target the upstream received');
        assert.equal(line.route, testCase.route, 'route that matched');
        assert.equal(line.path, testCase.forwarded.split('?')[0], 'the forwarded path is the matched path');
      } else {
        assert.deepEqual(JSON.parse(response.body), { error: testCase.reason });
        assert.equal(upstream.seen.length, seenBefore, 'the upstream must not see a rejected request');
        assert.equal(line.reason, testCase.reason, 'access-log reason');
      }
    });
  }

  test('privileged prefix in any case needs a token', async () => {
    for (const target of ['/ADMIN', '/Admin/x', '//admin', '/%61dmin', '/public/../admin']) {
      const response = await rawRequest(proxy.proxyUrl, `GET ${target} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
      assert.equal(response.status, 401, target);
      assert.deepEqual(JSON.parse(response.body), { error: 'missing_token' }, target);
    }
  });
});
