/**
 * Properties of the upstream header builder on generated client header lists. It never throws.
 * Whatever the client sends, the upstream never receives a hop-by-hop or Connection-named header,
 * a client copy of an identity or X-Forwarded-* header, or an unverified Authorization.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';

import fc from 'fast-check';

import { parseCidr } from '../../proxy/config/cidr.js';
import { Rejection } from '../../proxy/errors.js';
import { checkConnectionOptions } from '../../proxy/upstream/forwardable.js';
import { buildUpstreamHeaders, normalizeHeaderName } from '../../proxy/upstream/headers.js';
import { TrustedProxies } from '../../proxy/upstream/trusted-proxies.js';
import { fuzzParameters } from '../support/fuzz.js';

const IDENTITY = new Set(['x-auth-subject', 'x-auth-scopes']);
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const NO_TRUST = new TrustedProxies([]);
const LOOPBACK_TRUST = new TrustedProxies([parseCidr('127.0.0.0/8')!]);

/** Header names that matter, in mixed case and with `_` for `-`, plus plain ones. */
const headerName = fc.oneof(
  fc.mixedCase(
    fc.constantFrom(
      ...HOP_BY_HOP, 'authorization', 'host', 'x-auth-subject', 'x_auth_subject', 'x-auth-scopes', 'x-forwarded-for', 'x_forwarded_host',
      'x-forwarded-proto', 'forwarded', 'x-real-ip', 'x-original-url', 'expect', 'x-custom', 'content-type', 'cookie',
    ),
  ),
  fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/),
);
const headerValue = fc.oneof(
  fc.constantFrom('x-custom', 'X-Auth-Subject, close', 'keep-alive, x_custom', 'Bearer a.b.c', 'mallory', '10.0.0.1', 'https'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
);
const rawHeaders = fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 });

/** Builds a stand-in for Node's IncomingMessage with the fields the builder reads, derived as Node derives them. */
function fakeRequest(pairs: [string, string][], remoteAddress: string): IncomingMessage {
  const headersDistinct: Record<string, string[]> = {};
  for (const [name, value] of pairs) (headersDistinct[name.toLowerCase()] ??= []).push(value);
  const headers = Object.fromEntries(Object.entries(headersDistinct).map(([name, values]) => [name, values.join(', ')]));
  return { rawHeaders: pairs.flat(), headersDistinct, headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function namesOf(output: string[]): string[] {
  return output.filter((_, index) => index % 2 === 0);
}

test('header builder never forwards what it must remove', () => {
  fc.assert(
    fc.property(rawHeaders, fc.boolean(), fc.boolean(), (pairs, verified, trusted) => {
      const request = fakeRequest(pairs, '127.0.0.1');
      const identity = { headers: [['X-Auth-Subject', 'alice']] as const, authorizationVerified: verified };
      const output = buildUpstreamHeaders(request, IDENTITY, identity, trusted ? LOOPBACK_TRUST : NO_TRUST);

      assert.equal(output.length % 2, 0);
      const listed = new Set(
        (request.headersDistinct['connection'] ?? []).flatMap((value) => value.split(',')).map((name) => normalizeHeaderName(name.trim())),
      );
      // Client headers come first; the proxy's own start at its X-Forwarded-For.
      const clientNames = namesOf(output).slice(0, namesOf(output).indexOf('x-forwarded-for'));
      for (const name of clientNames) {
        const normalized = normalizeHeaderName(name);
        assert.ok(!HOP_BY_HOP.includes(name.toLowerCase()), `hop-by-hop ${name}`);
        assert.ok(!listed.has(normalized), `Connection-named ${name}`);
        assert.ok(!IDENTITY.has(normalized), `client identity header ${name}`);
        assert.ok(!normalized.startsWith('x-forwarded-'), `client ${name}`);
        assert.notEqual(normalized, 'forwarded');
        assert.notEqual(normalized, 'host');
        assert.notEqual(normalized, 'expect');
        if (name.toLowerCase() === 'authorization') assert.ok(verified, 'unverified authorization');
      }
      const names = namesOf(output).map((name) => name.toLowerCase());
      assert.equal(names.filter((name) => name === 'x-forwarded-for').length, 1);
      assert.equal(names.filter((name) => name === 'x-forwarded-proto').length, 1);
      assert.equal(names.filter((name) => name === 'x-auth-subject').length, 1);
      assert.equal(output.at(-1), 'alice');
    }),
    fuzzParameters(3000),
  );
});

test('header builder gives the same output twice', () => {
  fc.assert(
    fc.property(rawHeaders, (pairs) => {
      const build = () => buildUpstreamHeaders(fakeRequest(pairs, '10.1.2.3'), IDENTITY, { headers: [], authorizationVerified: false }, LOOPBACK_TRUST);
      assert.deepEqual(build(), build());
    }),
    fuzzParameters(500),
  );
});

test('connection check throws only invalid_connection_header', () => {
  fc.assert(
    fc.property(rawHeaders, (pairs) => {
      try {
        checkConnectionOptions(fakeRequest(pairs, '127.0.0.1'), IDENTITY);
      } catch (error) {
        assert.ok(error instanceof Rejection, String(error));
        assert.equal(error.reason, 'invalid_connection_header');
      }
    }),
    fuzzParameters(3000),
  );
});
