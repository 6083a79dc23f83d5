import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { JWTPayload } from 'jose';

import type { VerifiedToken } from '../../proxy/auth/verify.js';
import { Denylist, type DenylistEntry, type IssuerBounds, type SnapshotRow } from '../../proxy/revocation/denylist.js';
import type { RevocationEvent, RevocationTarget } from '../../proxy/revocation/event.js';

const ISS = 'https://idp.example';
const OTHER_ISS = 'https://other.example';
/** Revocation time, in seconds. */
const T = 1_700_000_000;
const BOUNDS: IssuerBounds = { maxLifetime: 3_600, tolerance: 30 };
const HASH = 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg';
const OTHER_HASH = 'LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564';

/** Creates a denylist whose clock, in seconds, the test sets. */
function denylistAt(seconds: number): { denylist: Denylist; setNow: (seconds: number) => void } {
  let nowMilliseconds = seconds * 1000;
  const denylist = new Denylist(() => BOUNDS, () => nowMilliseconds);
  return { denylist, setNow: (next) => (nowMilliseconds = next * 1000) };
}

function event(target: RevocationTarget, fields: Partial<RevocationEvent> = {}): RevocationEvent {
  return { id: 'rev-1', target, issuedAt: T, signedBy: 'responder-1', actor: 'alice', reason: 'stolen laptop', ...fields };
}

function token(claims: JWTPayload, fields: Partial<VerifiedToken> = {}): VerifiedToken {
  return { iss: ISS, kid: 'issuer-key-1', claims, signingInputHash: OTHER_HASH, ...fields };
}

test('Denylist token by jti', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));

  assert.equal(denylist.match(token({ jti: 'token-1' }))?.id, 'rev-1');
});

test('Denylist other jti passes', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));

  assert.equal(denylist.match(token({ jti: 'token-2' })), undefined);
});

test('Denylist jti of other issuer passes', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));

  assert.equal(denylist.match(token({ jti: 'token-1' }, { iss: OTHER_ISS })), undefined);
});

test('Denylist issuer and jti kept apart', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: 'a', jti: 'bc' }));

  assert.equal(denylist.match(token({ jti: 'c' }, { iss: 'ab' })), undefined);
  assert.equal(denylist.match(token({ jti: 'bc' }, { iss: 'a' }))?.id, 'rev-1');
});

test('Denylist token by hash', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }));

  assert.equal(denylist.match(token({}, { signingInputHash: HASH }))?.id, 'rev-1');
});

test('Denylist hash matches token with jti', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }));

  assert.equal(denylist.match(token({ jti: 'token-1' }, { signingInputHash: HASH }))?.id, 'rev-1');
});

test('Denylist other hash passes', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }));

  assert.equal(denylist.match(token({}, { signingInputHash: OTHER_HASH })), undefined);
});

test('Denylist hash of other issuer passes', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }));

  assert.equal(denylist.match(token({}, { iss: OTHER_ISS, signingInputHash: HASH })), undefined);
});

test('Denylist jti is not a hash', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: HASH }));

  assert.equal(denylist.match(token({}, { signingInputHash: HASH })), undefined);
});

const SUBJECT_CASES: readonly { name: string; claims: JWTPayload; iss?: string; revoked: boolean }[] = [
  { name: 'iat equal to T', claims: { sub: 'user-1', iat: T }, revoked: true },
  { name: 'iat before T', claims: { sub: 'user-1', iat: T - 1_000 }, revoked: true },
  { name: 'iat T+1', claims: { sub: 'user-1', iat: T + 1 }, revoked: false },
  { name: 'iat T+0.5', claims: { sub: 'user-1', iat: T + 0.5 }, revoked: false },
  { name: 'other subject', claims: { sub: 'user-2', iat: T - 1_000 }, revoked: false },
  { name: 'other issuer', claims: { sub: 'user-1', iat: T - 1_000 }, iss: OTHER_ISS, revoked: false },
  { name: 'no iat', claims: { sub: 'user-1' }, revoked: false },
  { name: 'no sub', claims: { iat: T - 1_000 }, revoked: false },
];

for (const { name, claims, iss, revoked } of SUBJECT_CASES) {
  test(`Denylist subject ${name}`, () => {
    const { denylist } = denylistAt(T);
    denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }));
    const entry = denylist.match(token(claims, iss === undefined ? {} : { iss }));

    assert.equal(entry?.id, revoked ? 'rev-1' : undefined);
  });
}

test('Denylist entry fields', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T - 5 }));
  const entry = denylist.match(token({ sub: 'user-1', iat: T - 10 }));

  assert.ok(entry);
  assert.equal(entry.kind, 'subject');
  assert.equal(entry.iss, ISS);
  assert.equal(entry.signedBy, 'responder-1');
  assert.equal(entry.actor, 'alice');
  assert.equal(entry.reason, 'stolen laptop');
  assert.equal(entry.issuedAt, T);
  assert.equal(entry.before, T - 5);
  assert.equal(entry.dropAfter, T - 5 + BOUNDS.maxLifetime + BOUNDS.tolerance);
});

test('Denylist token entry has no before', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 60 }));
  const entry = denylist.match(token({ jti: 'token-1' }));

  assert.ok(entry);
  assert.equal(entry.kind, 'token');
  assert.equal(entry.before, undefined);
  assert.equal(entry.dropAfter, T + 60 + BOUNDS.tolerance);
});

test('Denylist newer subject event replaces older', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }, { id: 'rev-1' }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T + 100 }, { id: 'rev-2', issuedAt: T + 100 }));

  assert.equal(denylist.match(token({ sub: 'user-1', iat: T + 50 }))?.id, 'rev-2');
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T }))?.id, 'rev-2');
  assert.equal(denylist.size, 1);
});

test('Denylist newer jti event replaces older', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }, { id: 'rev-1', reason: 'first' }));
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 600 }, { id: 'rev-2', reason: 'second' }));
  const entry = denylist.match(token({ jti: 'token-1' }));

  assert.equal(entry?.id, 'rev-2');
  assert.equal(entry?.reason, 'second');
  assert.equal(entry?.dropAfter, T + 600 + BOUNDS.tolerance);
  assert.equal(denylist.size, 1);
});

test('Denylist apply returns applied when live', () => {
  const { denylist } = denylistAt(T);

  assert.equal(denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 60 })), 'applied');
});

test('Denylist apply expired token event', () => {
  const { denylist } = denylistAt(T);
  const applied = denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T - BOUNDS.tolerance - 1 }));

  assert.equal(applied, 'expired');
  assert.equal(denylist.size, 0);
  assert.equal(denylist.match(token({ jti: 'token-1' })), undefined);
});

test('Denylist apply expired subject event', () => {
  const { denylist } = denylistAt(T);
  const before = T - BOUNDS.maxLifetime - BOUNDS.tolerance - 1;

  assert.equal(denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before })), 'expired');
  assert.equal(denylist.size, 0);
});

test('Denylist apply event at its bound', () => {
  const { denylist } = denylistAt(T);

  assert.equal(denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T - BOUNDS.tolerance })), 'applied');
  assert.equal(denylist.size, 1);
});

test('Denylist expired event keeps older entry', () => {
  const { denylist, setNow } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }, { id: 'rev-1' }));
  setNow(T + 120);
  const applied = denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH, expiresAt: T + 60 }, { id: 'rev-2' }));

  assert.equal(applied, 'expired');
  assert.equal(denylist.size, 1);
});

test('Denylist replayed older event is superseded', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }, { id: 'newer', issuedAt: T }));
  const applied = denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T - 120 }, { id: 'older', issuedAt: T - 120 }));

  assert.equal(applied, 'superseded');
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T - 60 }))?.id, 'newer');
});

test('Denylist token entry capped by lifetime', () => {
  const { denylist, setNow } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 10 * BOUNDS.maxLifetime }));
  setNow(T + BOUNDS.maxLifetime + 2 * BOUNDS.tolerance + 1);
  denylist.prune();

  assert.equal(denylist.size, 0);
});

/** Targets, each with the time in seconds after which prune drops its entry. */
const PRUNE_CASES: readonly { name: string; target: RevocationTarget; bound: number }[] = [
  { name: 'jti with exp', target: { kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 600 }, bound: T + 600 + BOUNDS.tolerance },
  { name: 'hash with exp', target: { kind: 'token', iss: ISS, sha256: HASH, expiresAt: T + 600 }, bound: T + 600 + BOUNDS.tolerance },
  { name: 'jti without exp', target: { kind: 'token', iss: ISS, jti: 'token-1' }, bound: T + BOUNDS.maxLifetime + 2 * BOUNDS.tolerance },
  { name: 'hash without exp', target: { kind: 'token', iss: ISS, sha256: HASH }, bound: T + BOUNDS.maxLifetime + 2 * BOUNDS.tolerance },
  { name: 'subject', target: { kind: 'subject', iss: ISS, sub: 'user-1', before: T - 100 }, bound: T - 100 + BOUNDS.maxLifetime + BOUNDS.tolerance },
];

for (const { name, target, bound } of PRUNE_CASES) {
  test(`Denylist prune ${name}`, () => {
    const { denylist, setNow } = denylistAt(T);
    denylist.apply(event(target));

    setNow(bound - 1);
    assert.equal(denylist.prune(), 0, 'dropped a second before the bound');
    setNow(bound);
    assert.equal(denylist.prune(), 0, 'dropped at the bound');
    assert.equal(denylist.size, 1);
    setNow(bound + 0.001);
    assert.equal(denylist.prune(), 1, 'kept after the bound');
    assert.equal(denylist.size, 0);
  });
}

test('Denylist prune keeps live entries', () => {
  const { denylist, setNow } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'short', expiresAt: T + 10 }));
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'long', expiresAt: T + 1_000 }));
  setNow(T + 100);

  assert.equal(denylist.prune(), 1);
  assert.equal(denylist.match(token({ jti: 'short' })), undefined);
  assert.equal(denylist.match(token({ jti: 'long' }))?.kind, 'token');
});

test('Denylist bounds per issuer', () => {
  let nowMilliseconds = T * 1000;
  const denylist = new Denylist(
    (iss) => (iss === ISS ? BOUNDS : { maxLifetime: 60, tolerance: 0 }),
    () => nowMilliseconds,
  );
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }));
  denylist.apply(event({ kind: 'subject', iss: OTHER_ISS, sub: 'user-1', before: T }));
  nowMilliseconds = (T + 61) * 1000;

  assert.equal(denylist.prune(), 1);
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T }))?.iss, ISS);
});

test('Denylist countByKind', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }));
  denylist.apply(event({ kind: 'subject', iss: OTHER_ISS, sub: 'user-1', before: T }));

  assert.deepEqual(denylist.countByKind(), { token: 2, subject: 2 });
  assert.equal(denylist.size, 4);
});

test('Denylist countByKind empty', () => {
  const { denylist } = denylistAt(T);

  assert.deepEqual(denylist.countByKind(), { token: 0, subject: 0 });
});

test('Denylist snapshot round trip', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }, { id: 'rev-1' }));
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }, { id: 'rev-2' }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }, { id: 'rev-3' }));
  const rows = JSON.parse(JSON.stringify(denylist.exportRows())) as SnapshotRow[];
  const restored = denylistAt(T).denylist;

  assert.equal(restored.importRows(rows), 3);
  assert.deepEqual(restored.countByKind(), { token: 2, subject: 1 });
  assert.equal(restored.match(token({ jti: 'token-1' }))?.id, 'rev-1');
  assert.equal(restored.match(token({}, { signingInputHash: HASH }))?.id, 'rev-2');
  assert.equal(restored.match(token({ sub: 'user-1', iat: T }))?.id, 'rev-3');
  assert.equal(restored.match(token({ sub: 'user-1', iat: T + 1 })), undefined);
});

test('Denylist snapshot skips expired rows', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'short', expiresAt: T + 10 }));
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'long', expiresAt: T + 1_000 }));
  const rows = denylist.exportRows();
  const restored = denylistAt(T + 100).denylist;

  assert.equal(restored.importRows(rows), 1);
  assert.equal(restored.match(token({ jti: 'short' })), undefined);
  assert.equal(restored.match(token({ jti: 'long' }))?.kind, 'token');
});

test('Denylist snapshot skips malformed rows', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));
  const [valid] = denylist.exportRows();
  assert.ok(valid);
  const [, key, entry] = valid;
  const rows = [
    'not a row',
    null,
    ['unknown', key, entry],
    ['jwtId', 42, entry],
    ['jwtId', key, { ...entry, dropAfter: String(entry.dropAfter) }],
    ['jwtId', key],
  ] as unknown as SnapshotRow[];
  const restored = denylistAt(T).denylist;

  assert.equal(restored.importRows(rows), 0);
  assert.equal(restored.size, 0);
});

test('Denylist snapshot entry fields kept', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }));
  const restored = denylistAt(T).denylist;
  restored.importRows(denylist.exportRows());
  const entry: DenylistEntry | undefined = restored.match(token({ sub: 'user-1', iat: T }));

  assert.deepEqual(entry, denylist.match(token({ sub: 'user-1', iat: T })));
});

// An entry for a token whose exp is unknown is kept until T + maxLifetime + tolerance. An issuer
// whose clock runs ahead by the tolerance can mint, before T, a token with iat = T + tolerance and
// exp = iat + maxLifetime. checkClaims accepts that iat, and jose accepts the token until
// exp + tolerance = T + maxLifetime + 2 * tolerance, so the entry is dropped too early.
test('Denylist jti entry outlives skewed token', () => {
  const { denylist, setNow } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));
  setNow(T + BOUNDS.maxLifetime + 2 * BOUNDS.tolerance - 1);

  assert.equal(denylist.prune(), 0);
  assert.equal(denylist.match(token({ jti: 'token-1' }))?.id, 'rev-1');
});
