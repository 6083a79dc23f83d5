import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { JWTPayload } from 'jose';

import { checkClaims, scopesOf } from '../../proxy/auth/claims.js';
import type { IssuerConfig } from '../../proxy/config/schema.js';
import { Rejection, type RejectionReason } from '../../proxy/errors.js';

const NOW = 1_700_000_000;
const MAX_LIFETIME_SECONDS = 3_600;
const TOLERANCE_SECONDS = 30;

const ISSUER: IssuerConfig = {
  issuer: 'https://idp.example',
  audience: 'orders-api',
  jwks: { file: '/etc/revgate/jwks.json', cooldown: 30_000, timeout: 5000 },
  algorithms: ['EdDSA'],
  maxTokenLifetime: MAX_LIFETIME_SECONDS * 1000,
  clockTolerance: TOLERANCE_SECONDS * 1000,
};

/** Claims of a valid five-minute token issued now, with `overrides` applied. */
function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return { iss: ISSUER.issuer, sub: 'user-1', jti: 'token-1', iat: NOW, exp: NOW + 300, ...overrides };
}

/** Runs checkClaims, which must throw a Rejection, and returns its reason. */
function rejectionOf(payload: JWTPayload): RejectionReason {
  try {
    checkClaims(payload, ISSUER, NOW);
  } catch (error) {
    assert.ok(error instanceof Rejection, `expected a Rejection, got ${String(error)}`);
    return error.reason;
  }
  assert.fail('the claims were accepted');
}

const ACCEPTED: readonly { name: string; payload: JWTPayload }[] = [
  { name: 'valid token', payload: claims() },
  { name: 'iat at tolerance', payload: claims({ iat: NOW + TOLERANCE_SECONDS, exp: NOW + TOLERANCE_SECONDS + 60 }) },
  { name: 'lifetime at max', payload: claims({ exp: NOW + MAX_LIFETIME_SECONDS }) },
  { name: 'exp-now at max plus tolerance', payload: claims({ iat: NOW + TOLERANCE_SECONDS, exp: NOW + TOLERANCE_SECONDS + MAX_LIFETIME_SECONDS }) },
  { name: 'iat long ago', payload: claims({ iat: NOW - 86_400, exp: NOW - 86_400 + 60 }) },
  { name: 'fractional times', payload: claims({ iat: NOW + 0.5, exp: NOW + 300.5 }) },
  { name: 'no sub or jti', payload: { iat: NOW, exp: NOW + 60 } },
  { name: 'scope string', payload: claims({ scope: 'read write' }) },
  { name: 'scp array', payload: claims({ scp: ['read', 'write'] }) },
  { name: 'empty scp array', payload: claims({ scp: [] }) },
  { name: 'string identity claims', payload: claims({ sid: 's', client_id: 'c', azp: 'a' }) },
];

for (const { name, payload } of ACCEPTED) {
  test(`checkClaims accepts ${name}`, () => {
    assert.doesNotThrow(() => checkClaims(payload, ISSUER, NOW));
  });
}

const INFINITY: unknown = JSON.parse('1e400');

const REJECTED: readonly { name: string; payload: JWTPayload; reason: RejectionReason }[] = [
  { name: 'exp missing', payload: claims({ exp: undefined }), reason: 'invalid_claims' },
  { name: 'iat missing', payload: claims({ iat: undefined }), reason: 'invalid_claims' },
  { name: 'exp string', payload: claims({ exp: String(NOW + 300) }), reason: 'invalid_claims' },
  { name: 'iat string', payload: claims({ iat: String(NOW) }), reason: 'invalid_claims' },
  { name: 'exp null', payload: claims({ exp: null }), reason: 'invalid_claims' },
  { name: 'exp Infinity', payload: claims({ exp: INFINITY }), reason: 'invalid_claims' },
  { name: 'iat Infinity', payload: claims({ iat: INFINITY }), reason: 'invalid_claims' },
  { name: 'iat -Infinity', payload: claims({ iat: -Infinity }), reason: 'invalid_claims' },
  { name: 'exp NaN', payload: claims({ exp: Number.NaN }), reason: 'invalid_claims' },
  { name: 'iat beyond tolerance', payload: claims({ iat: NOW + TOLERANCE_SECONDS + 1, exp: NOW + 600 }), reason: 'token_not_yet_valid' },
  { name: 'iat far future', payload: claims({ iat: NOW + 86_400, exp: NOW + 86_400 + 60 }), reason: 'token_not_yet_valid' },
  { name: 'lifetime over max', payload: claims({ exp: NOW + MAX_LIFETIME_SECONDS + 1 }), reason: 'lifetime_exceeded' },
  { name: 'lifetime over max by fraction', payload: claims({ exp: NOW + MAX_LIFETIME_SECONDS + 0.5 }), reason: 'lifetime_exceeded' },
  // Once iat passes the tolerance check, exp - now can exceed max + tolerance only if exp - iat
  // exceeds max too. So this case is rejected by the exp - iat check, which runs first.
  { name: 'exp-now over max', payload: claims({ iat: NOW - 10, exp: NOW + MAX_LIFETIME_SECONDS + TOLERANCE_SECONDS + 1 }), reason: 'lifetime_exceeded' },
  { name: 'iat long before exp', payload: claims({ iat: NOW - 2 * MAX_LIFETIME_SECONDS, exp: NOW + 60 }), reason: 'lifetime_exceeded' },
  { name: 'sub number', payload: claims({ sub: 42 }), reason: 'invalid_claims' },
  { name: 'sub array', payload: claims({ sub: ['user-1'] }), reason: 'invalid_claims' },
  { name: 'sub null', payload: claims({ sub: null }), reason: 'invalid_claims' },
  { name: 'jti number', payload: claims({ jti: 7 }), reason: 'invalid_claims' },
  { name: 'jti object', payload: claims({ jti: { id: 'x' } }), reason: 'invalid_claims' },
  { name: 'sid number', payload: claims({ sid: 1 }), reason: 'invalid_claims' },
  { name: 'client_id number', payload: claims({ client_id: 1 }), reason: 'invalid_claims' },
  { name: 'azp boolean', payload: claims({ azp: true }), reason: 'invalid_claims' },
  { name: 'scope array', payload: claims({ scope: ['read'] }), reason: 'invalid_claims' },
  { name: 'scp string', payload: claims({ scp: 'read write' }), reason: 'invalid_claims' },
  { name: 'scp with number', payload: claims({ scp: ['read', 1] }), reason: 'invalid_claims' },
];

for (const { name, payload, reason } of REJECTED) {
  test(`checkClaims rejects ${name}`, () => {
    assert.equal(rejectionOf(payload), reason);
  });
}

test('checkClaims Infinity fixture', () => {
  assert.equal(INFINITY, Number.POSITIVE_INFINITY);
});

test('checkClaims uses issuer bounds', () => {
  const strict: IssuerConfig = { ...ISSUER, maxTokenLifetime: 60_000, clockTolerance: 0 };

  assert.throws(() => checkClaims(claims({ exp: NOW + 61 }), strict, NOW), (error: unknown) => {
    assert.ok(error instanceof Rejection);
    assert.equal(error.reason, 'lifetime_exceeded');
    return true;
  });
  assert.throws(() => checkClaims(claims({ iat: NOW + 1 }), strict, NOW), (error: unknown) => {
    assert.ok(error instanceof Rejection);
    assert.equal(error.reason, 'token_not_yet_valid');
    return true;
  });
});

const SCOPES: readonly { name: string; payload: JWTPayload; scopes: string[] }[] = [
  { name: 'scope string', payload: { scope: 'read write' }, scopes: ['read', 'write'] },
  { name: 'scope extra spaces', payload: { scope: '  read   write ' }, scopes: ['read', 'write'] },
  { name: 'scope empty', payload: { scope: '' }, scopes: [] },
  { name: 'scope single', payload: { scope: 'admin' }, scopes: ['admin'] },
  { name: 'scp array', payload: { scp: ['read', 'write'] }, scopes: ['read', 'write'] },
  { name: 'scope before scp', payload: { scope: 'read', scp: ['write'] }, scopes: ['read'] },
  { name: 'neither claim', payload: {}, scopes: [] },
  { name: 'scp not array', payload: { scp: 'read' }, scopes: [] },
];

for (const { name, payload, scopes } of SCOPES) {
  test(`scopesOf ${name}`, () => {
    assert.deepEqual(scopesOf(payload), scopes);
  });
}
