import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCidr } from '../../proxy/config/cidr.js';
import { parseConfigText } from '../../proxy/config/load.js';
import { TrustedProxies } from '../../proxy/upstream/trusted-proxies.js';

test('parseCidr accepts blocks and bare addresses', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  assert.deepEqual(parseCidr('192.0.2.7'), { address: '192.0.2.7', prefix: 32, family: 'ipv4' });
  assert.deepEqual(parseCidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  assert.deepEqual(parseCidr('0.0.0.0/0'), { address: '0.0.0.0', prefix: 0, family: 'ipv4' });
});

test('parseCidr rejects malformed blocks', () => {
  for (const text of ['', '10.0.0.0/33', '::/129', '10.0.0/8', '10.0.0.0/8/8', '10.0.0.0/-1', '10.0.0.0/ 8', '10.0.0.0/', 'fe80::1%eth0', 'localhost', '10.0.0.0/08a']) {
    assert.equal(parseCidr(text), undefined, text);
  }
});

test('TrustedProxies matches peers inside the blocks', () => {
  const trusted = new TrustedProxies([parseCidr('10.0.0.0/8')!, parseCidr('fd00::/8')!]);
  assert.equal(trusted.includes('10.1.2.3'), true);
  assert.equal(trusted.includes('::ffff:10.1.2.3'), true);
  assert.equal(trusted.includes('fd12::1'), true);
  assert.equal(trusted.includes('11.0.0.1'), false);
  assert.equal(trusted.includes('::1'), false);
  assert.equal(trusted.includes(undefined), false);
});

test('TrustedProxies without blocks trusts nobody', () => {
  assert.equal(new TrustedProxies([]).includes('127.0.0.1'), false);
});

const BASE = `
upstream: { url: "http://127.0.0.1:3000" }
issuers: [{ issuer: "https://idp.test", audience: "a", jwks: { file: "k.json" }, algorithms: [ES256], maxTokenLifetime: 1h }]
routes: [{ path: "/" }]
revocation: { trustedResponders: { file: "r.json" } }
`;

test('server.trustedProxies defaults to none and parses blocks', () => {
  assert.deepEqual(parseConfigText(BASE, '/tmp/revgate.yaml').server.trustedProxies, []);
  const config = parseConfigText(`${BASE}server: { trustedProxies: ["10.0.0.0/8", "::1"] }\n`, '/tmp/revgate.yaml');
  assert.deepEqual(config.server.trustedProxies, [
    { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
    { address: '::1', prefix: 128, family: 'ipv6' },
  ]);
});

test('server.trustedProxies rejects a malformed block with its path', () => {
  assert.throws(
    () => parseConfigText(`${BASE}server: { trustedProxies: ["10.0.0.0/99"] }\n`, '/tmp/revgate.yaml'),
    (error: Error & { details?: string[] }) => error.details?.some((line) => line.startsWith('server.trustedProxies[0] "10.0.0.0/99": must be an IP address')) === true,
  );
});

test('server.maxConnections is unset by default and must be positive', () => {
  assert.equal(parseConfigText(BASE, '/tmp/revgate.yaml').server.maxConnections, undefined);
  assert.equal(parseConfigText(`${BASE}server: { maxConnections: 500 }\n`, '/tmp/revgate.yaml').server.maxConnections, 500);
  assert.throws(() => parseConfigText(`${BASE}server: { maxConnections: 0 }\n`, '/tmp/revgate.yaml'));
});
