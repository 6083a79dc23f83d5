import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, test } from 'node:test';

import {
  CompactSign,
  SignJWT,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTHeaderParameters,
} from 'jose';

import {
  EventRejectedError,
  SESSION_REVOKED,
  SET_ISSUER,
  SET_TYPE,
  signRevocationEvent,
  verifyRevocationEvent,
  type EventRejection,
  type RevocationTarget,
  type SigningKey,
} from '../../proxy/revocation/event.js';

const KID = 'responder-1';
const ISS = 'https://idp.example';
const ISSUED_AT = 1_700_000_000;
const HASH = createHash('sha256').update('header.payload').digest('base64url');

let trusted: SigningKey;
let untrusted: SigningKey;
let trustedKeys: JWTVerifyGetKey;

before(async () => {
  const pair = await generateKeyPair('EdDSA');
  const other = await generateKeyPair('EdDSA');
  trusted = { key: pair.privateKey, kid: KID, alg: 'EdDSA' };
  untrusted = { key: other.privateKey, kid: 'intruder', alg: 'EdDSA' };
  trustedKeys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'EdDSA' }] });
});

/** Builds the event member of a valid SET that revokes token `token-1`, with `overrides` applied. */
function eventBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    subject: { format: 'jwt_id', iss: ISS, jti: 'token-1' },
    event_timestamp: ISSUED_AT,
    initiating_entity: 'admin',
    reason_admin: { en: 'stolen laptop' },
    ...overrides,
  };
}

interface HostileOptions {
  claims?: JWTPayload;
  header?: Partial<JWTHeaderParameters>;
  key?: CryptoKey;
  /** Claims to leave out, such as `['jti']`. */
  omit?: string[];
}

/** Signs a SET directly with jose, so that tests can break any part the codec would write correctly. */
async function signHostile(options: HostileOptions = {}): Promise<string> {
  const claims: JWTPayload = {
    iss: SET_ISSUER,
    jti: 'rev-1',
    iat: ISSUED_AT,
    events: { [SESSION_REVOKED]: eventBody() },
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  const header = { alg: 'EdDSA', typ: SET_TYPE, kid: KID, ...options.header } as JWTHeaderParameters;
  return new SignJWT(claims).setProtectedHeader(header).sign(options.key ?? trusted.key);
}

/** Signs raw payload text, for JSON that JSON.stringify cannot produce, such as `1e400`. */
async function signRawPayload(payloadText: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadText))
    .setProtectedHeader({ alg: 'EdDSA', typ: SET_TYPE, kid: KID })
    .sign(trusted.key);
}

/** Awaits verification, which must fail with EventRejectedError, and returns its reason. */
async function rejectionOf(compact: string, keys: JWTVerifyGetKey = trustedKeys): Promise<EventRejection> {
  try {
    await verifyRevocationEvent(compact, keys);
  } catch (error) {
    assert.ok(error instanceof EventRejectedError, `expected an EventRejectedError, got ${String(error)}`);
    return error.reason;
  }
  assert.fail('the event was accepted');
}

const ROUND_TRIP_TARGETS: readonly { name: string; target: RevocationTarget }[] = [
  { name: 'jti', target: { kind: 'token', iss: ISS, jti: 'token-1' } },
  { name: 'jti with exp', target: { kind: 'token', iss: ISS, jti: 'token-1', expiresAt: ISSUED_AT + 300 } },
  { name: 'hash', target: { kind: 'token', iss: ISS, sha256: HASH } },
  { name: 'hash with exp', target: { kind: 'token', iss: ISS, sha256: HASH, expiresAt: ISSUED_AT + 300 } },
  { name: 'subject', target: { kind: 'subject', iss: ISS, sub: 'user-1', before: ISSUED_AT - 60 } },
];

for (const { name, target } of ROUND_TRIP_TARGETS) {
  test(`revocation event round trip ${name}`, async () => {
    const compact = await signRevocationEvent({ id: 'rev-1', target, reason: 'stolen laptop', actor: 'alice', issuedAt: ISSUED_AT }, trusted);
    const event = await verifyRevocationEvent(compact, trustedKeys);

    assert.deepEqual(event.target, target);
    assert.equal(event.id, 'rev-1');
    assert.equal(event.issuedAt, ISSUED_AT);
    assert.equal(event.signedBy, KID);
    assert.equal(event.actor, 'alice');
    assert.equal(event.reason, 'stolen laptop');
  });
}

test('revocation event without actor', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, trusted);
  const event = await verifyRevocationEvent(compact, trustedKeys);

  assert.equal(event.actor, undefined);
});

test('revocation event default issue time', async () => {
  const low = Math.floor(Date.now() / 1000);
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, trusted);
  const event = await verifyRevocationEvent(compact, trustedKeys);
  const high = Math.floor(Date.now() / 1000);

  assert.ok(event.issuedAt >= low, `issuedAt ${event.issuedAt} is before ${low}`);
  assert.ok(event.issuedAt <= high, `issuedAt ${event.issuedAt} is after ${high}`);
});

test('revocation event header', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, trusted);
  const header = JSON.parse(Buffer.from(compact.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

  assert.equal(header['typ'], SET_TYPE);
  assert.equal(header['kid'], KID);
  assert.equal(header['alg'], 'EdDSA');
});

test('revocation event untrusted key', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, untrusted);

  assert.equal(await rejectionOf(compact), 'untrusted_key');
});

test('revocation event untrusted key with trusted kid', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, { ...untrusted, kid: KID });

  assert.equal(await rejectionOf(compact), 'invalid_signature');
});

test('revocation event without kid', async () => {
  assert.equal(await rejectionOf(await signHostile({ header: { kid: undefined } })), 'untrusted_key');
});

test('revocation event tampered payload', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 'token-1' }, reason: 'r' }, trusted);
  const [header, payload, signature] = compact.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as JWTPayload;
  const events = claims['events'] as Record<string, { subject: Record<string, string> }>;
  const subject = events[SESSION_REVOKED]?.subject;
  assert.ok(subject);
  subject['jti'] = 'token-2';
  const tampered = Buffer.from(JSON.stringify(claims)).toString('base64url');

  assert.equal(await rejectionOf(`${header}.${tampered}.${signature}`), 'invalid_signature');
});

test('revocation event tampered signature', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, trusted);
  const [header, payload, signature] = compact.split('.');
  const bytes = Buffer.from(signature ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;

  assert.equal(await rejectionOf(`${header}.${payload}.${bytes.toString('base64url')}`), 'invalid_signature');
});

test('revocation event not a JWS', async () => {
  assert.equal(await rejectionOf('not-a-jws'), 'malformed');
});

const MALFORMED: readonly { name: string; options: HostileOptions }[] = [
  { name: 'typ JWT', options: { header: { typ: 'JWT' } } },
  { name: 'typ missing', options: { header: { typ: undefined } } },
  { name: 'wrong issuer', options: { claims: { iss: 'someone-else' } } },
  { name: 'jti missing', options: { omit: ['jti'] } },
  { name: 'iat missing', options: { omit: ['iat'] } },
  { name: 'events missing', options: { omit: ['events'] } },
  { name: 'events array', options: { claims: { events: [eventBody()] } } },
  { name: 'events string', options: { claims: { events: SESSION_REVOKED } } },
  { name: 'no event', options: { claims: { events: {} } } },
  { name: 'two events', options: { claims: { events: { [SESSION_REVOKED]: eventBody(), 'https://example.com/other': {} } } } },
  { name: 'event not object', options: { claims: { events: { [SESSION_REVOKED]: 'revoke' } } } },
  { name: 'event array', options: { claims: { events: { [SESSION_REVOKED]: [eventBody()] } } } },
  { name: 'token_expires_at string', options: { claims: { events: { [SESSION_REVOKED]: eventBody({ token_expires_at: '1700000300' }) } } } },
  { name: 'token_expires_at negative', options: { claims: { events: { [SESSION_REVOKED]: eventBody({ token_expires_at: -1 }) } } } },
  {
    name: 'event_timestamp string',
    options: { claims: { events: { [SESSION_REVOKED]: eventBody({ subject: { format: 'iss_sub', iss: ISS, sub: 'u' }, event_timestamp: 'now' }) } } },
  },
  {
    name: 'event_timestamp negative',
    options: { claims: { events: { [SESSION_REVOKED]: eventBody({ subject: { format: 'iss_sub', iss: ISS, sub: 'u' }, event_timestamp: -5 }) } } },
  },
  // jose does not check the type of `jti`, so the codec must, because the revocation id is a string.
  { name: 'jti number', options: { claims: { jti: 5 as unknown as string } } },
];

for (const { name, options } of MALFORMED) {
  test(`revocation event malformed ${name}`, async () => {
    assert.equal(await rejectionOf(await signHostile(options)), 'malformed');
  });
}

test('revocation event unknown event type', async () => {
  const compact = await signHostile({ claims: { events: { 'https://schemas.openid.net/secevent/caep/event-type/credential-change': eventBody() } } });

  assert.equal(await rejectionOf(compact), 'unknown_event_type');
});

const INVALID_SUBJECTS: readonly { name: string; subject: unknown }[] = [
  { name: 'extra member', subject: { format: 'jwt_id', iss: ISS, jti: 'token-1', sub: 'user-1' } },
  { name: 'missing member', subject: { format: 'jwt_id', iss: ISS } },
  { name: 'members of other format', subject: { format: 'jwt_id', iss: ISS, sub: 'user-1' } },
  { name: 'unknown format', subject: { format: 'email', email: 'a@example.com' } },
  { name: 'no format', subject: { iss: ISS, jti: 'token-1' } },
  { name: 'format number', subject: { format: 1, iss: ISS, jti: 'token-1' } },
  // The codec looks the format up in a plain object, so names inherited from Object.prototype
  // find a member list. The codec then throws a TypeError, not an EventRejectedError.
  { name: 'format toString', subject: { format: 'toString', iss: ISS } },
  { name: 'format constructor', subject: { format: 'constructor' } },
  { name: 'format __proto__', subject: { format: '__proto__', iss: ISS } },
  { name: 'empty jti', subject: { format: 'jwt_id', iss: ISS, jti: '' } },
  { name: 'empty iss', subject: { format: 'iss_sub', iss: '', sub: 'user-1' } },
  { name: 'sub number', subject: { format: 'iss_sub', iss: ISS, sub: 42 } },
  { name: 'subject string', subject: 'user-1' },
  { name: 'subject array', subject: [ISS, 'token-1'] },
  { name: 'subject missing', subject: undefined },
  { name: 'sha256 short', subject: { format: 'revgate_token_hash', iss: ISS, sha256: HASH.slice(0, 42) } },
  { name: 'sha256 long', subject: { format: 'revgate_token_hash', iss: ISS, sha256: `${HASH}A` } },
  { name: 'sha256 padded', subject: { format: 'revgate_token_hash', iss: ISS, sha256: `${HASH}=` } },
  { name: 'sha256 base64', subject: { format: 'revgate_token_hash', iss: ISS, sha256: `+/${HASH.slice(2)}` } },
  { name: 'sha256 hex', subject: { format: 'revgate_token_hash', iss: ISS, sha256: createHash('sha256').update('x').digest('hex') } },
];

for (const { name, subject } of INVALID_SUBJECTS) {
  test(`revocation event invalid subject ${name}`, async () => {
    const compact = await signHostile({ claims: { events: { [SESSION_REVOKED]: eventBody({ subject }) } } });

    assert.equal(await rejectionOf(compact), 'invalid_subject');
  });
}

test('revocation event subject defaults to iat', async () => {
  const body = eventBody({ subject: { format: 'iss_sub', iss: ISS, sub: 'user-1' } });
  delete body['event_timestamp'];
  const event = await verifyRevocationEvent(await signHostile({ claims: { events: { [SESSION_REVOKED]: body } } }), trustedKeys);

  assert.deepEqual(event.target, { kind: 'subject', iss: ISS, sub: 'user-1', before: ISSUED_AT });
});

test('revocation event reason in other language', async () => {
  const compact = await signHostile({ claims: { events: { [SESSION_REVOKED]: eventBody({ reason_admin: { de: 'gestohlen' } }) } } });

  assert.equal((await verifyRevocationEvent(compact, trustedKeys)).reason, 'gestohlen');
});

test('revocation event reason missing', async () => {
  const body = eventBody();
  delete body['reason_admin'];
  const compact = await signHostile({ claims: { events: { [SESSION_REVOKED]: body } } });

  assert.equal((await verifyRevocationEvent(compact, trustedKeys)).reason, '');
});

test('revocation event actor not string', async () => {
  const compact = await signHostile({ claims: { actor: { name: 'alice' } } });

  assert.equal((await verifyRevocationEvent(compact, trustedKeys)).actor, undefined);
});

test('revocation event token_expires_at Infinity', async () => {
  const payload = `{"iss":"${SET_ISSUER}","jti":"rev-1","iat":${ISSUED_AT},"events":{"${SESSION_REVOKED}":{"subject":{"format":"jwt_id","iss":"${ISS}","jti":"token-1"},"token_expires_at":1e400}}}`;

  assert.equal(await rejectionOf(await signRawPayload(payload)), 'malformed');
});

test('revocation event event_timestamp Infinity', async () => {
  const payload = `{"iss":"${SET_ISSUER}","jti":"rev-1","iat":${ISSUED_AT},"events":{"${SESSION_REVOKED}":{"subject":{"format":"iss_sub","iss":"${ISS}","sub":"user-1"},"event_timestamp":1e400}}}`;

  assert.equal(await rejectionOf(await signRawPayload(payload)), 'malformed');
});

test('revocation event raw payload fixture valid', async () => {
  // Guards the two Infinity tests: the same raw text with finite numbers must verify.
  const payload = `{"iss":"${SET_ISSUER}","jti":"rev-1","iat":${ISSUED_AT},"events":{"${SESSION_REVOKED}":{"subject":{"format":"jwt_id","iss":"${ISS}","jti":"token-1"},"token_expires_at":${ISSUED_AT + 60}}}}`;
  const event = await verifyRevocationEvent(await signRawPayload(payload), trustedKeys);

  assert.deepEqual(event.target, { kind: 'token', iss: ISS, jti: 'token-1', expiresAt: ISSUED_AT + 60 });
});
