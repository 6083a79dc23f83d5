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
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';

import {
  EventRejectedError,
  SET_ISSUER,
  SET_TYPE,
  signLiftEvent,
  signRevocationEvent,
  verifyRevocationEvent,
  type EventRejection,
  type ResponderKeys,
  type RevocationTarget,
  type SigningKey,
} from '../../proxy/revocation/event.js';
import {
  CAEP_CREDENTIAL_CHANGE,
  CAEP_SESSION_REVOKED,
  MIN_TOKEN_VERSION,
  REVOCATION_LIFTED,
  RISC_ACCOUNT_DISABLED,
  RISC_ACCOUNT_PURGED,
  RISC_CREDENTIAL_COMPROMISE,
  decodeEvents,
  encodeRevocation,
  type RevocationCommand,
} from '../../proxy/revocation/event-mapping.js';

/** `kid` of the responder key trusted for revocations and lifts. */
const KID = 'responder-1';
/** `kid` of the responder key trusted for revocations only. */
const REVOKE_ONLY_KID = 'revoker-1';
const ISS = 'https://idp.example';
const ISSUED_AT = 1_700_000_000;
/** The verifier's clock in milliseconds: the moment the test events were issued. */
const NOW = ISSUED_AT * 1000;
/** T of relayed events: ten minutes before the SET was issued. */
const EVENT_TIME = ISSUED_AT - 600;
const HASH = createHash('sha256').update('header.payload').digest('base64url');

let trusted: SigningKey;
let revokeOnly: SigningKey;
let untrusted: SigningKey;
let keys: ResponderKeys;
let keysWithoutLift: ResponderKeys;
/** Key sets that hold the one key trusted for revocations and lifts. */
let singleKeys: ResponderKeys;

before(async () => {
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const revokePair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  trusted = { key: pair.privateKey, kid: KID, alg: 'EdDSA' };
  revokeOnly = { key: revokePair.privateKey, kid: REVOKE_ONLY_KID, alg: 'EdDSA' };
  untrusted = { key: other.privateKey, kid: 'intruder', alg: 'EdDSA' };

  const trustedJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'EdDSA' };
  const revokeOnlyJwk: JWK = { ...(await exportJWK(revokePair.publicKey)), kid: REVOKE_ONLY_KID, alg: 'EdDSA' };
  const revoke = createLocalJWKSet({ keys: [trustedJwk, revokeOnlyJwk] });
  keys = { revoke, lift: createLocalJWKSet({ keys: [trustedJwk] }) };
  keysWithoutLift = { revoke, lift: undefined };
  const single = createLocalJWKSet({ keys: [trustedJwk] });
  singleKeys = { revoke: single, lift: single };
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
    events: { [CAEP_SESSION_REVOKED]: eventBody() },
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  const header = { alg: 'EdDSA', typ: SET_TYPE, kid: KID, ...options.header } as JWTHeaderParameters;
  return new SignJWT(claims).setProtectedHeader(header).sign(options.key ?? trusted.key);
}

/** Signs a SET with one event of `type`, as an identity provider relaying it would. */
function signEvent(type: string, body: Record<string, unknown>, options: HostileOptions = {}): Promise<string> {
  return signHostile({ ...options, claims: { iss: ISS, events: { [type]: body }, ...options.claims } });
}

/** Signs raw payload text, for JSON that JSON.stringify cannot produce, such as `1e400`. */
async function signRawPayload(payloadText: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadText))
    .setProtectedHeader({ alg: 'EdDSA', typ: SET_TYPE, kid: KID })
    .sign(trusted.key);
}

/** Awaits verification, which must fail with EventRejectedError, and returns its reason. */
async function rejectionOf(compact: string, responderKeys: ResponderKeys = keys): Promise<EventRejection> {
  try {
    await verifyRevocationEvent(compact, responderKeys, NOW);
  } catch (error) {
    assert.ok(error instanceof EventRejectedError, `expected an EventRejectedError, got ${String(error)}`);
    return error.reason;
  }
  assert.fail('the event was accepted');
}

async function commandOf(compact: string): Promise<RevocationCommand> {
  return (await verifyRevocationEvent(compact, keys, NOW)).command;
}

// --- Round trip: what revgate publishes, read back ---------------------------------------------

const ROUND_TRIP_TARGETS: readonly { name: string; target: RevocationTarget }[] = [
  { name: 'jti', target: { kind: 'token', iss: ISS, jti: 'token-1' } },
  { name: 'jti with exp', target: { kind: 'token', iss: ISS, jti: 'token-1', expiresAt: ISSUED_AT + 300 } },
  { name: 'hash', target: { kind: 'token', iss: ISS, sha256: HASH } },
  { name: 'hash with exp', target: { kind: 'token', iss: ISS, sha256: HASH, expiresAt: ISSUED_AT + 300 } },
  { name: 'subject', target: { kind: 'subject', iss: ISS, sub: 'user-1', before: ISSUED_AT - 60 } },
  { name: 'subject until lifted', target: { kind: 'subject', iss: ISS, sub: 'user-1' } },
  { name: 'session', target: { kind: 'session', iss: ISS, sid: 'session-1', before: ISSUED_AT - 60 } },
  { name: 'session until lifted', target: { kind: 'session', iss: ISS, sid: 'session-1' } },
  { name: 'client', target: { kind: 'client', iss: ISS, clientId: 'client-1', before: ISSUED_AT - 60 } },
  { name: 'client until lifted', target: { kind: 'client', iss: ISS, clientId: 'client-1' } },
  { name: 'key', target: { kind: 'key', iss: ISS, kid: 'key-1' } },
  { name: 'issuer', target: { kind: 'issuer', iss: ISS, before: ISSUED_AT - 60 } },
  { name: 'version', target: { kind: 'version', iss: ISS, sub: 'user-1', minVersion: 4 } },
];

for (const { name, target } of ROUND_TRIP_TARGETS) {
  test(`event round trip ${name}`, async () => {
    const compact = await signRevocationEvent({ id: 'rev-1', target, reason: 'stolen laptop', actor: 'alice', issuedAt: ISSUED_AT }, trusted);
    const event = await verifyRevocationEvent(compact, keys, NOW);

    assert.deepEqual(event.command, { action: 'revoke', target });
    assert.equal(event.id, 'rev-1');
    assert.equal(event.issuedAt, ISSUED_AT);
    assert.equal(event.signedBy, KID);
    assert.equal(event.actor, 'alice');
    assert.equal(event.reason, 'stolen laptop');
  });

  test(`encodeRevocation round trip ${name}`, () => {
    const events = encodeRevocation(target, 'stolen laptop', ISSUED_AT);

    assert.deepEqual(decodeEvents(events, ISSUED_AT), { action: 'revoke', target });
  });
}

test('event round trip lift', async () => {
  const compact = await signLiftEvent({ id: 'lift-1', revocationId: 'rev-1', reason: 'false alarm', actor: 'bob', issuedAt: ISSUED_AT }, trusted);
  const event = await verifyRevocationEvent(compact, keys, NOW);

  assert.deepEqual(event.command, { action: 'lift', revocationId: 'rev-1' });
  assert.equal(event.id, 'lift-1');
  assert.equal(event.issuedAt, ISSUED_AT);
  assert.equal(event.signedBy, KID);
  assert.equal(event.actor, 'bob');
  assert.equal(event.reason, 'false alarm');
});

test('event round trip revoke-only key', async () => {
  const target: RevocationTarget = { kind: 'key', iss: ISS, kid: 'key-1' };
  const compact = await signRevocationEvent({ id: 'rev-1', target, reason: 'r', issuedAt: ISSUED_AT }, revokeOnly);
  const event = await verifyRevocationEvent(compact, keys, NOW);

  assert.deepEqual(event.command, { action: 'revoke', target });
  assert.equal(event.signedBy, REVOKE_ONLY_KID);
});

test('encodeRevocation uses CAEP session-revoked', () => {
  const events = encodeRevocation({ kind: 'subject', iss: ISS, sub: 'user-1', before: ISSUED_AT - 60 }, 'stolen laptop', ISSUED_AT);

  assert.deepEqual(events, {
    [CAEP_SESSION_REVOKED]: {
      subject: { format: 'iss_sub', iss: ISS, sub: 'user-1' },
      event_timestamp: ISSUED_AT - 60,
      initiating_entity: 'admin',
      reason_admin: { en: 'stolen laptop' },
    },
  });
});

test('event without actor', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, trusted);
  const event = await verifyRevocationEvent(compact, keys);

  assert.equal(event.actor, undefined);
});

test('event default issue time', async () => {
  const low = Math.floor(Date.now() / 1000);
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, trusted);
  const event = await verifyRevocationEvent(compact, keys);
  const high = Math.floor(Date.now() / 1000);

  assert.ok(event.issuedAt >= low, `issuedAt ${event.issuedAt} is before ${low}`);
  assert.ok(event.issuedAt <= high, `issuedAt ${event.issuedAt} is after ${high}`);
});

test('event header', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, trusted);
  const header = JSON.parse(Buffer.from(compact.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

  assert.equal(header['typ'], SET_TYPE);
  assert.equal(header['kid'], KID);
  assert.equal(header['alg'], 'EdDSA');
});

// --- Events relayed from identity providers --------------------------------------------------

const USER = { format: 'iss_sub', iss: ISS, sub: 'user-1' };
const subjectAt = (before: number): RevocationCommand => ({ action: 'revoke', target: { kind: 'subject', iss: ISS, sub: 'user-1', before } });
const SUBJECT_UNTIL_LIFTED: RevocationCommand = { action: 'revoke', target: { kind: 'subject', iss: ISS, sub: 'user-1' } };

/** Example SETs from identity providers: event type, event member, and the command it becomes. */
const RELAYED: readonly { name: string; type: string; body: Record<string, unknown>; command: RevocationCommand }[] = [
  {
    name: 'session-revoked jwt_id',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'jwt_id', iss: ISS, jti: 'token-1' }, event_timestamp: EVENT_TIME },
    command: { action: 'revoke', target: { kind: 'token', iss: ISS, jti: 'token-1' } },
  },
  {
    name: 'session-revoked token hash',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'revgate_token_hash', iss: ISS, sha256: HASH }, event_timestamp: EVENT_TIME, token_expires_at: ISSUED_AT + 60 },
    command: { action: 'revoke', target: { kind: 'token', iss: ISS, sha256: HASH, expiresAt: ISSUED_AT + 60 } },
  },
  {
    name: 'session-revoked iss_sub',
    type: CAEP_SESSION_REVOKED,
    body: { subject: USER, event_timestamp: EVENT_TIME },
    command: subjectAt(EVENT_TIME),
  },
  {
    name: 'session-revoked iss_sub at iat',
    type: CAEP_SESSION_REVOKED,
    body: { subject: USER },
    command: subjectAt(ISSUED_AT),
  },
  {
    name: 'session-revoked iss_sub until lifted',
    type: CAEP_SESSION_REVOKED,
    body: { subject: USER, event_timestamp: EVENT_TIME, until_lifted: true },
    command: SUBJECT_UNTIL_LIFTED,
  },
  {
    name: 'session-revoked session',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'revgate_session', iss: ISS, sid: 'session-1' }, event_timestamp: EVENT_TIME },
    command: { action: 'revoke', target: { kind: 'session', iss: ISS, sid: 'session-1', before: EVENT_TIME } },
  },
  {
    name: 'session-revoked client',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'revgate_client', iss: ISS, client_id: 'client-1' }, event_timestamp: EVENT_TIME },
    command: { action: 'revoke', target: { kind: 'client', iss: ISS, clientId: 'client-1', before: EVENT_TIME } },
  },
  {
    name: 'session-revoked client until lifted',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'revgate_client', iss: ISS, client_id: 'client-1' }, until_lifted: true },
    command: { action: 'revoke', target: { kind: 'client', iss: ISS, clientId: 'client-1' } },
  },
  {
    name: 'session-revoked signing key',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'revgate_signing_key', iss: ISS, kid: 'key-1' }, event_timestamp: EVENT_TIME },
    command: { action: 'revoke', target: { kind: 'key', iss: ISS, kid: 'key-1' } },
  },
  {
    name: 'session-revoked issuer',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'revgate_issuer', iss: ISS }, event_timestamp: EVENT_TIME },
    command: { action: 'revoke', target: { kind: 'issuer', iss: ISS, before: EVENT_TIME } },
  },
  {
    name: 'session-revoked complex user',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'complex', user: USER }, event_timestamp: EVENT_TIME },
    command: subjectAt(EVENT_TIME),
  },
  {
    name: 'session-revoked complex session',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'complex', user: USER, session: { format: 'opaque', id: 'session-1' } }, event_timestamp: EVENT_TIME },
    command: { action: 'revoke', target: { kind: 'session', iss: ISS, sid: 'session-1', before: EVENT_TIME } },
  },
  {
    name: 'session-revoked complex session until lifted',
    type: CAEP_SESSION_REVOKED,
    body: { subject: { format: 'complex', user: USER, session: { format: 'opaque', id: 'session-1' } }, until_lifted: true },
    command: { action: 'revoke', target: { kind: 'session', iss: ISS, sid: 'session-1' } },
  },
  {
    name: 'session-revoked T one minute ahead',
    type: CAEP_SESSION_REVOKED,
    body: { subject: USER, event_timestamp: ISSUED_AT + 60 },
    command: subjectAt(ISSUED_AT + 60),
  },
  {
    name: 'credential-change revoke',
    type: CAEP_CREDENTIAL_CHANGE,
    body: { subject: USER, credential_type: 'password', change_type: 'revoke', event_timestamp: EVENT_TIME },
    command: subjectAt(EVENT_TIME),
  },
  {
    name: 'credential-change update',
    type: CAEP_CREDENTIAL_CHANGE,
    body: { subject: USER, credential_type: 'password', change_type: 'update', event_timestamp: EVENT_TIME },
    command: subjectAt(EVENT_TIME),
  },
  {
    name: 'credential-change delete',
    type: CAEP_CREDENTIAL_CHANGE,
    body: { subject: USER, credential_type: 'fido2-roaming', change_type: 'delete', event_timestamp: EVENT_TIME },
    command: subjectAt(EVENT_TIME),
  },
  {
    name: 'credential-change at iat',
    type: CAEP_CREDENTIAL_CHANGE,
    body: { subject: USER, credential_type: 'password', change_type: 'revoke' },
    command: subjectAt(ISSUED_AT),
  },
  {
    name: 'credential-change complex user',
    type: CAEP_CREDENTIAL_CHANGE,
    body: { subject: { format: 'complex', user: USER }, credential_type: 'password', change_type: 'update', event_timestamp: EVENT_TIME },
    command: subjectAt(EVENT_TIME),
  },
  {
    name: 'account-disabled',
    type: RISC_ACCOUNT_DISABLED,
    body: { subject: USER, reason: 'hijacking' },
    command: SUBJECT_UNTIL_LIFTED,
  },
  {
    name: 'account-disabled with time',
    type: RISC_ACCOUNT_DISABLED,
    body: { subject: USER, event_timestamp: EVENT_TIME },
    command: SUBJECT_UNTIL_LIFTED,
  },
  {
    name: 'account-purged',
    type: RISC_ACCOUNT_PURGED,
    body: { subject: USER },
    command: SUBJECT_UNTIL_LIFTED,
  },
  {
    name: 'credential-compromise',
    type: RISC_CREDENTIAL_COMPROMISE,
    body: { subject: USER, credential_type: 'password', event_timestamp: EVENT_TIME },
    command: subjectAt(EVENT_TIME),
  },
  {
    name: 'credential-compromise at iat',
    type: RISC_CREDENTIAL_COMPROMISE,
    body: { subject: USER, credential_type: 'password' },
    command: subjectAt(ISSUED_AT),
  },
  {
    name: 'min-token-version',
    type: MIN_TOKEN_VERSION,
    body: { subject: USER, min_version: 7, event_timestamp: ISSUED_AT },
    command: { action: 'revoke', target: { kind: 'version', iss: ISS, sub: 'user-1', minVersion: 7 } },
  },
  {
    name: 'revocation-lifted',
    type: REVOCATION_LIFTED,
    body: { revocation_id: 'rev-0', event_timestamp: ISSUED_AT },
    command: { action: 'lift', revocationId: 'rev-0' },
  },
];

for (const { name, type, body, command } of RELAYED) {
  test(`relayed ${name}`, async () => {
    assert.deepEqual(await commandOf(await signEvent(type, body)), command);
  });
}

test('relayed credential-change create', async () => {
  const compact = await signEvent(CAEP_CREDENTIAL_CHANGE, { subject: USER, credential_type: 'password', change_type: 'create' });

  assert.equal((await commandOf(compact)).action, 'ignore');
});

test('relayed event metadata', async () => {
  const compact = await signEvent(RISC_ACCOUNT_DISABLED, { subject: USER, reason: 'hijacking' }, { claims: { jti: 'idp-event-1' } });
  const event = await verifyRevocationEvent(compact, keys, NOW);

  assert.equal(event.id, 'idp-event-1');
  assert.equal(event.issuedAt, ISSUED_AT);
  assert.equal(event.signedBy, KID);
  assert.equal(event.actor, undefined);
  assert.equal(event.reason, 'hijacking');
});

// --- Rejections -------------------------------------------------------------------------------

test('event untrusted key', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, untrusted);

  assert.equal(await rejectionOf(compact), 'untrusted_key');
});

test('event untrusted key with trusted kid', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, { ...untrusted, kid: KID });

  assert.equal(await rejectionOf(compact), 'invalid_signature');
});

test('event without kid', async () => {
  assert.equal(await rejectionOf(await signHostile({ header: { kid: undefined } }), singleKeys), 'untrusted_key');
});

// With more than one responder key, jose cannot pick a key for a header without kid and throws
// ERR_JWKS_MULTIPLE_MATCHING_KEYS, which must still count as an untrusted key.
test('event without kid among keys', async () => {
  assert.equal(await rejectionOf(await signHostile({ header: { kid: undefined } })), 'untrusted_key');
});

test('event tampered payload', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 'token-1' }, reason: 'r' }, trusted);
  const [header, payload, signature] = compact.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as JWTPayload;
  const events = claims['events'] as Record<string, { subject: Record<string, string> }>;
  const subject = events[CAEP_SESSION_REVOKED]?.subject;
  assert.ok(subject);
  subject['jti'] = 'token-2';
  const tampered = Buffer.from(JSON.stringify(claims)).toString('base64url');

  assert.equal(await rejectionOf(`${header}.${tampered}.${signature}`), 'invalid_signature');
});

test('event tampered signature', async () => {
  const compact = await signRevocationEvent({ id: 'rev-1', target: { kind: 'token', iss: ISS, jti: 't' }, reason: 'r' }, trusted);
  const [header, payload, signature] = compact.split('.');
  const bytes = Buffer.from(signature ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;

  assert.equal(await rejectionOf(`${header}.${payload}.${bytes.toString('base64url')}`), 'invalid_signature');
});

test('event not a JWS', async () => {
  assert.equal(await rejectionOf('not-a-jws'), 'malformed');
});

test('lift by revoke-only key', async () => {
  const compact = await signLiftEvent({ id: 'lift-1', revocationId: 'rev-1', reason: 'r', issuedAt: ISSUED_AT }, revokeOnly);

  assert.equal(await rejectionOf(compact), 'lift_not_allowed');
});

test('lift without lift keys', async () => {
  const compact = await signLiftEvent({ id: 'lift-1', revocationId: 'rev-1', reason: 'r', issuedAt: ISSUED_AT }, trusted);

  assert.equal(await rejectionOf(compact, keysWithoutLift), 'lift_not_allowed');
});

test('lift by untrusted key', async () => {
  const compact = await signLiftEvent({ id: 'lift-1', revocationId: 'rev-1', reason: 'r', issuedAt: ISSUED_AT }, untrusted);

  assert.equal(await rejectionOf(compact), 'lift_not_allowed');
});

test('lift tampered signature', async () => {
  const compact = await signLiftEvent({ id: 'lift-1', revocationId: 'rev-1', reason: 'r', issuedAt: ISSUED_AT }, trusted);
  const [header, payload, signature] = compact.split('.');
  const bytes = Buffer.from(signature ?? '', 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;

  assert.equal(await rejectionOf(`${header}.${payload}.${bytes.toString('base64url')}`), 'invalid_signature');
});

test('event iat at future limit', async () => {
  const compact = await signHostile({ claims: { iat: ISSUED_AT + 300 } });

  assert.equal((await verifyRevocationEvent(compact, keys, NOW)).issuedAt, ISSUED_AT + 300);
});

test('event iat past future limit', async () => {
  assert.equal(await rejectionOf(await signHostile({ claims: { iat: ISSUED_AT + 301 } })), 'malformed');
});

test('event iat a day ahead', async () => {
  assert.equal(await rejectionOf(await signHostile({ claims: { iat: ISSUED_AT + 86_400 } })), 'malformed');
});

test('event from identity provider issuer', async () => {
  // Relayed events carry the identity provider's `iss`, so trust comes from the responder key alone.
  const compact = await signHostile({ claims: { iss: 'https://idp.example' } });

  assert.equal((await commandOf(compact)).action, 'revoke');
});

const MALFORMED: readonly { name: string; options: HostileOptions }[] = [
  { name: 'typ JWT', options: { header: { typ: 'JWT' } } },
  { name: 'typ missing', options: { header: { typ: undefined } } },
  { name: 'jti missing', options: { omit: ['jti'] } },
  { name: 'jti empty', options: { claims: { jti: '' } } },
  // jose does not check the type of `jti`, so the codec must, because the revocation id is a string.
  { name: 'jti number', options: { claims: { jti: 5 as unknown as string } } },
  { name: 'iat missing', options: { omit: ['iat'] } },
  { name: 'iat negative', options: { claims: { iat: -1 } } },
  { name: 'events missing', options: { omit: ['events'] } },
  { name: 'events array', options: { claims: { events: [eventBody()] } } },
  { name: 'events string', options: { claims: { events: CAEP_SESSION_REVOKED } } },
  { name: 'no event', options: { claims: { events: {} } } },
  { name: 'two events', options: { claims: { events: { [CAEP_SESSION_REVOKED]: eventBody(), 'https://example.com/other': {} } } } },
  { name: 'event not object', options: { claims: { events: { [CAEP_SESSION_REVOKED]: 'revoke' } } } },
  { name: 'event array', options: { claims: { events: { [CAEP_SESSION_REVOKED]: [eventBody()] } } } },
  { name: 'token_expires_at string', options: { claims: { events: { [CAEP_SESSION_REVOKED]: eventBody({ token_expires_at: '1700000300' }) } } } },
  { name: 'token_expires_at negative', options: { claims: { events: { [CAEP_SESSION_REVOKED]: eventBody({ token_expires_at: -1 }) } } } },
  { name: 'event_timestamp string', options: { claims: { events: { [CAEP_SESSION_REVOKED]: eventBody({ subject: USER, event_timestamp: 'now' }) } } } },
  { name: 'event_timestamp negative', options: { claims: { events: { [CAEP_SESSION_REVOKED]: eventBody({ subject: USER, event_timestamp: -5 }) } } } },
  {
    name: 'issuer until lifted',
    options: { claims: { events: { [CAEP_SESSION_REVOKED]: eventBody({ subject: { format: 'revgate_issuer', iss: ISS }, until_lifted: true }) } } },
  },
  { name: 'change_type missing', options: { claims: { events: { [CAEP_CREDENTIAL_CHANGE]: { subject: USER, credential_type: 'password' } } } } },
  { name: 'change_type unknown', options: { claims: { events: { [CAEP_CREDENTIAL_CHANGE]: { subject: USER, change_type: 'rotate' } } } } },
  { name: 'min_version zero', options: { claims: { events: { [MIN_TOKEN_VERSION]: { subject: USER, min_version: 0 } } } } },
  { name: 'min_version fraction', options: { claims: { events: { [MIN_TOKEN_VERSION]: { subject: USER, min_version: 1.5 } } } } },
  { name: 'min_version string', options: { claims: { events: { [MIN_TOKEN_VERSION]: { subject: USER, min_version: '3' } } } } },
  { name: 'min_version missing', options: { claims: { events: { [MIN_TOKEN_VERSION]: { subject: USER } } } } },
  { name: 'revocation_id missing', options: { claims: { events: { [REVOCATION_LIFTED]: {} } } } },
  { name: 'revocation_id empty', options: { claims: { events: { [REVOCATION_LIFTED]: { revocation_id: '' } } } } },
  { name: 'revocation_id number', options: { claims: { events: { [REVOCATION_LIFTED]: { revocation_id: 7 } } } } },
];

for (const { name, options } of MALFORMED) {
  test(`event malformed ${name}`, async () => {
    assert.equal(await rejectionOf(await signHostile(options)), 'malformed');
  });
}

/** Events whose T is an hour after the SET's iat: a revocation cannot reach tokens issued after it. */
const FUTURE_T: readonly { name: string; type: string; body: Record<string, unknown> }[] = [
  { name: 'session-revoked', type: CAEP_SESSION_REVOKED, body: { subject: USER } },
  { name: 'session-revoked until lifted', type: CAEP_SESSION_REVOKED, body: { subject: USER, until_lifted: true } },
  { name: 'credential-change', type: CAEP_CREDENTIAL_CHANGE, body: { subject: USER, change_type: 'revoke' } },
  { name: 'credential-compromise', type: RISC_CREDENTIAL_COMPROMISE, body: { subject: USER } },
];

for (const { name, type, body } of FUTURE_T) {
  test(`event T after event ${name}`, async () => {
    const compact = await signEvent(type, { ...body, event_timestamp: ISSUED_AT + 3_600 });

    assert.equal(await rejectionOf(compact), 'malformed');
  });
}

test('event T 61 seconds after event', async () => {
  const compact = await signEvent(CAEP_SESSION_REVOKED, { subject: USER, event_timestamp: ISSUED_AT + 61 });

  assert.equal(await rejectionOf(compact), 'malformed');
});

const UNKNOWN_EVENT_TYPES: readonly string[] = [
  'https://schemas.openid.net/secevent/caep/event-type/token-claims-change',
  'https://schemas.openid.net/secevent/risc/event-type/account-enabled',
  'urn:revgate:event-type:unknown',
  // Names that a plain-object lookup would find on Object.prototype.
  'toString',
  'constructor',
  '__proto__',
];

for (const type of UNKNOWN_EVENT_TYPES) {
  test(`event unknown type ${type}`, async () => {
    const compact = await signHostile({ claims: { events: { [type]: eventBody() } } });

    assert.equal(await rejectionOf(compact), 'unknown_event_type');
  });
}

const INVALID_SUBJECTS: readonly { name: string; subject: unknown }[] = [
  { name: 'extra member', subject: { format: 'jwt_id', iss: ISS, jti: 'token-1', sub: 'user-1' } },
  { name: 'extra member iss_sub', subject: { ...USER, email: 'a@example.com' } },
  { name: 'missing member', subject: { format: 'jwt_id', iss: ISS } },
  { name: 'members of other format', subject: { format: 'jwt_id', iss: ISS, sub: 'user-1' } },
  { name: 'unknown format', subject: { format: 'email', email: 'a@example.com' } },
  { name: 'no format', subject: { iss: ISS, jti: 'token-1' } },
  { name: 'format number', subject: { format: 1, iss: ISS, jti: 'token-1' } },
  { name: 'format toString', subject: { format: 'toString', iss: ISS } },
  { name: 'format constructor', subject: { format: 'constructor' } },
  { name: 'format __proto__', subject: { format: '__proto__', iss: ISS } },
  { name: 'format hasOwnProperty', subject: { format: 'hasOwnProperty', iss: ISS, sub: 'user-1' } },
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
  { name: 'complex unknown member', subject: { format: 'complex', user: USER, device: { format: 'opaque', id: 'device-1' } } },
  { name: 'complex __proto__ member', subject: JSON.parse(`{"format":"complex","user":${JSON.stringify(USER)},"__proto__":{"format":"opaque","id":"x"}}`) },
  { name: 'complex without user', subject: { format: 'complex', session: { format: 'opaque', id: 'session-1' } } },
  { name: 'complex user jwt_id', subject: { format: 'complex', user: { format: 'jwt_id', iss: ISS, jti: 'token-1' } } },
  { name: 'complex user extra member', subject: { format: 'complex', user: { ...USER, email: 'a@example.com' } } },
  { name: 'complex session not opaque', subject: { format: 'complex', user: USER, session: { format: 'revgate_session', iss: ISS, sid: 's' } } },
  { name: 'complex session extra member', subject: { format: 'complex', user: USER, session: { format: 'opaque', id: 's', iss: ISS } } },
  { name: 'complex session empty id', subject: { format: 'complex', user: USER, session: { format: 'opaque', id: '' } } },
  { name: 'complex session string', subject: { format: 'complex', user: USER, session: 'session-1' } },
];

for (const { name, subject } of INVALID_SUBJECTS) {
  test(`event invalid subject ${name}`, async () => {
    const compact = await signHostile({ claims: { events: { [CAEP_SESSION_REVOKED]: eventBody({ subject }) } } });

    assert.equal(await rejectionOf(compact), 'invalid_subject');
  });
}

/** Event types that need a user: any other subject format rejects the event. */
const NON_USER_SUBJECTS: readonly { name: string; type: string; body: Record<string, unknown> }[] = [
  { name: 'credential-change jwt_id', type: CAEP_CREDENTIAL_CHANGE, body: { subject: { format: 'jwt_id', iss: ISS, jti: 't' }, change_type: 'revoke' } },
  {
    name: 'credential-change complex session',
    type: CAEP_CREDENTIAL_CHANGE,
    body: { subject: { format: 'complex', user: USER, session: { format: 'opaque', id: 's' } }, change_type: 'revoke' },
  },
  { name: 'account-disabled session', type: RISC_ACCOUNT_DISABLED, body: { subject: { format: 'revgate_session', iss: ISS, sid: 's' } } },
  { name: 'account-purged client', type: RISC_ACCOUNT_PURGED, body: { subject: { format: 'revgate_client', iss: ISS, client_id: 'c' } } },
  { name: 'credential-compromise issuer', type: RISC_CREDENTIAL_COMPROMISE, body: { subject: { format: 'revgate_issuer', iss: ISS } } },
  { name: 'min-token-version signing key', type: MIN_TOKEN_VERSION, body: { subject: { format: 'revgate_signing_key', iss: ISS, kid: 'k' }, min_version: 2 } },
];

for (const { name, type, body } of NON_USER_SUBJECTS) {
  test(`event invalid subject ${name}`, async () => {
    assert.equal(await rejectionOf(await signEvent(type, body)), 'invalid_subject');
  });
}

// --- Reasons and raw payloads -----------------------------------------------------------------

test('event reason in other language', async () => {
  const compact = await signHostile({ claims: { events: { [CAEP_SESSION_REVOKED]: eventBody({ reason_admin: { de: 'gestohlen' } }) } } });

  assert.equal((await verifyRevocationEvent(compact, keys, NOW)).reason, 'gestohlen');
});

test('event reason missing', async () => {
  const body = eventBody();
  delete body['reason_admin'];
  const compact = await signHostile({ claims: { events: { [CAEP_SESSION_REVOKED]: body } } });

  assert.equal((await verifyRevocationEvent(compact, keys, NOW)).reason, '');
});

test('event actor not string', async () => {
  const compact = await signHostile({ claims: { actor: { name: 'alice' } } });

  assert.equal((await verifyRevocationEvent(compact, keys, NOW)).actor, undefined);
});

test('event token_expires_at Infinity', async () => {
  const payload = `{"iss":"${SET_ISSUER}","jti":"rev-1","iat":${ISSUED_AT},"events":{"${CAEP_SESSION_REVOKED}":{"subject":{"format":"jwt_id","iss":"${ISS}","jti":"token-1"},"token_expires_at":1e400}}}`;

  assert.equal(await rejectionOf(await signRawPayload(payload)), 'malformed');
});

test('event event_timestamp Infinity', async () => {
  const payload = `{"iss":"${SET_ISSUER}","jti":"rev-1","iat":${ISSUED_AT},"events":{"${CAEP_SESSION_REVOKED}":{"subject":{"format":"iss_sub","iss":"${ISS}","sub":"user-1"},"event_timestamp":1e400}}}`;

  assert.equal(await rejectionOf(await signRawPayload(payload)), 'malformed');
});

test('event raw payload fixture valid', async () => {
  // Guards the two Infinity tests: the same raw text with finite numbers must verify.
  const payload = `{"iss":"${SET_ISSUER}","jti":"rev-1","iat":${ISSUED_AT},"events":{"${CAEP_SESSION_REVOKED}":{"subject":{"format":"jwt_id","iss":"${ISS}","jti":"token-1"},"token_expires_at":${ISSUED_AT + 60}}}}`;

  assert.deepEqual(await commandOf(await signRawPayload(payload)), { action: 'revoke', target: { kind: 'token', iss: ISS, jti: 'token-1', expiresAt: ISSUED_AT + 60 } });
});
