import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCompactJws, isCanonicalBase64url } from '../../proxy/auth/compact-jws.js';
import { Rejection } from '../../proxy/errors.js';

const encode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const HEADER = encode({ alg: 'ES256', kid: 'k' });
const PAYLOAD = encode({ iss: 'https://idp.test', sub: 'a' });

function reasonOf(token: string): string {
  try {
    decodeCompactJws(token);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof Rejection);
    return error.reason;
  }
}

test('decodeCompactJws returns header and payload', () => {
  assert.deepEqual(decodeCompactJws(`${HEADER}.${PAYLOAD}.c2ln`), {
    header: { alg: 'ES256', kid: 'k' },
    payload: { iss: 'https://idp.test', sub: 'a' },
  });
});

test('decodeCompactJws accepts an empty signature', () => {
  assert.equal(reasonOf(`${HEADER}.${PAYLOAD}.`), 'ok');
});

const MALFORMED: readonly [string, string][] = [
  ['two segments', `${HEADER}.${PAYLOAD}`],
  ['four segments', `${HEADER}.${PAYLOAD}.c2ln.c2ln`],
  ['five segments (JWE)', `${HEADER}.a.b.c.d`],
  ['empty header', `.${PAYLOAD}.c2ln`],
  ['empty payload', `${HEADER}..c2ln`],
  ['padding', `${HEADER}.${PAYLOAD}.c2ln=`],
  ['standard alphabet', `${HEADER}.${PAYLOAD}.c2+/`],
  ['length 1 mod 4', `${HEADER}.${PAYLOAD}.c2lnA`],
  ['unused bits set', `${HEADER}.${PAYLOAD}.YR`],
  ['whitespace', `${HEADER}.${PAYLOAD} .c2ln`],
  ['payload array', `${HEADER}.${encode([1])}.c2ln`],
  ['payload null', `${HEADER}.${encode('null')}.c2ln`],
  ['payload number', `${HEADER}.${encode('1')}.c2ln`],
  ['payload not JSON', `${HEADER}.${encode('{a:1}')}.c2ln`],
  ['payload invalid UTF-8', `${HEADER}.${Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')}.c2ln`],
  ['payload with a byte order mark', `${HEADER}.${encode('\ufeff{"a":1}')}.c2ln`],
  ['repeated payload member', `${HEADER}.${encode('{"sub":"a","sub":"b"}')}.c2ln`],
  ['repeated header member', `${encode('{"alg":"none","alg":"ES256"}')}.${PAYLOAD}.c2ln`],
  ['zip header', `${encode({ alg: 'ES256', zip: 'DEF' })}.${PAYLOAD}.c2ln`],
  ['b64 header', `${encode({ alg: 'ES256', b64: true })}.${PAYLOAD}.c2ln`],
];

for (const [name, token] of MALFORMED) {
  test(`decodeCompactJws rejects ${name}`, () => {
    assert.equal(reasonOf(token), 'malformed_token');
  });
}

test('isCanonicalBase64url', () => {
  assert.equal(isCanonicalBase64url(''), true);
  assert.equal(isCanonicalBase64url('YQ'), true);
  assert.equal(isCanonicalBase64url('YR'), false);
  assert.equal(isCanonicalBase64url('YQ=='), false);
  assert.equal(isCanonicalBase64url('YWI'), true);
  assert.equal(isCanonicalBase64url('YWJ'), false);
  assert.equal(isCanonicalBase64url('-_-_'), true);
  assert.equal(isCanonicalBase64url('+/+/'), false);
  assert.equal(isCanonicalBase64url('A'), false);
});
