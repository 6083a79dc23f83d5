import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { JWTPayload } from 'jose';

import type { VerifiedToken } from '../../proxy/auth/verify.js';
import { Denylist, type DenylistEntry, type IssuerBounds, type SnapshotRow } from '../../proxy/revocation/denylist.js';
import type { RevocationEvent } from '../../proxy/revocation/event.js';
import { REVOCATION_KINDS, lastsUntilLifted, type RevocationTarget } from '../../proxy/revocation/target.js';

const ISS = 'https://idp.example';
const OTHER_ISS = 'https://other.example';
/** Revocation time, in seconds. */
const T = 1_700_000_000;
const BOUNDS: IssuerBounds = { maxLifetime: 3_600, tolerance: 30 };
const TOLERANCE = BOUNDS.tolerance;
const HASH = 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg';
const OTHER_HASH = 'LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564';
const TEN_YEARS = 10 * 365 * 86_400;

/** Creates a denylist whose clock, in seconds, the test sets. */
function denylistAt(seconds: number, versionClaim = 'ver'): { denylist: Denylist; setNow: (seconds: number) => void } {
  let nowMilliseconds = seconds * 1000;
  const denylist = new Denylist(() => BOUNDS, { versionClaim, now: () => nowMilliseconds });
  return { denylist, setNow: (next) => (nowMilliseconds = next * 1000) };
}

function event(target: RevocationTarget, fields: Partial<RevocationEvent> = {}): RevocationEvent {
  return { id: 'rev-1', target, issuedAt: T, signedBy: 'responder-1', actor: 'alice', reason: 'stolen laptop', ...fields };
}

function token(claims: JWTPayload, fields: Partial<VerifiedToken> = {}): VerifiedToken {
  return { iss: ISS, kid: 'key-1', claims, signingInputHash: OTHER_HASH, ...fields };
}

/** Counts with every kind at zero, as an empty denylist reports them. */
const ZERO_COUNTS = Object.fromEntries(REVOCATION_KINDS.map((kind) => [kind, 0]));

/** Returns the counts of kinds that have entries, so that checks hold whether or not zero counts are listed. */
function nonZeroCounts(denylist: Denylist): Record<string, number> {
  return Object.fromEntries(Object.entries(denylist.countByKind()).filter(([, count]) => count !== 0));
}

// --- Selectors --------------------------------------------------------------------------------

interface TokenCase {
  name: string;
  claims: JWTPayload;
  /** Token fields besides the claims, such as another issuer or kid. */
  fields?: Partial<VerifiedToken>;
  revoked: boolean;
}

interface SelectorTable {
  selector: string;
  target: RevocationTarget;
  cases: readonly TokenCase[];
  versionClaim?: string;
}

/** Builds cases around T for a revocation of tokens issued at or before T. `claims` carry the revoked value. */
function issuedAtCases(claims: JWTPayload): TokenCase[] {
  return [
    { name: 'iat T-tolerance', claims: { ...claims, iat: T - TOLERANCE }, revoked: true },
    { name: 'iat T-1', claims: { ...claims, iat: T - 1 }, revoked: true },
    { name: 'iat T', claims: { ...claims, iat: T }, revoked: true },
    { name: 'iat T+0.5', claims: { ...claims, iat: T + 0.5 }, revoked: false },
    { name: 'iat T+1', claims: { ...claims, iat: T + 1 }, revoked: false },
    { name: 'iat T+tolerance', claims: { ...claims, iat: T + TOLERANCE }, revoked: false },
    { name: 'no iat', claims, revoked: false },
    { name: 'other issuer', claims: { ...claims, iat: T - 1 }, fields: { iss: OTHER_ISS }, revoked: false },
  ];
}

/** Builds cases for a revocation without a time, which matches every token with the value, whenever issued. */
function untilLiftedCases(claims: JWTPayload): TokenCase[] {
  return [
    { name: 'iat T-tolerance', claims: { ...claims, iat: T - TOLERANCE }, revoked: true },
    { name: 'iat T', claims: { ...claims, iat: T }, revoked: true },
    { name: 'iat T+1', claims: { ...claims, iat: T + 1 }, revoked: true },
    { name: 'iat T+tolerance', claims: { ...claims, iat: T + TOLERANCE }, revoked: true },
    { name: 'issued a year later', claims: { ...claims, iat: T + 365 * 86_400 }, revoked: true },
    { name: 'no iat', claims, revoked: true },
    { name: 'other issuer', claims: { ...claims, iat: T }, fields: { iss: OTHER_ISS }, revoked: false },
  ];
}

const SELECTOR_TABLES: readonly SelectorTable[] = [
  {
    selector: 'jti',
    target: { kind: 'token', iss: ISS, jti: 'token-1' },
    cases: [
      { name: 'same jti', claims: { jti: 'token-1', iat: T - 100 }, revoked: true },
      { name: 'iat T+tolerance', claims: { jti: 'token-1', iat: T + TOLERANCE }, revoked: true },
      { name: 'other jti', claims: { jti: 'token-2', iat: T - 100 }, revoked: false },
      { name: 'other issuer', claims: { jti: 'token-1', iat: T - 100 }, fields: { iss: OTHER_ISS }, revoked: false },
      { name: 'no jti', claims: { iat: T - 100 }, revoked: false },
    ],
  },
  {
    selector: 'hash',
    target: { kind: 'token', iss: ISS, sha256: HASH },
    cases: [
      { name: 'same hash', claims: { iat: T - 100 }, fields: { signingInputHash: HASH }, revoked: true },
      { name: 'token with jti', claims: { jti: 'token-1', iat: T - 100 }, fields: { signingInputHash: HASH }, revoked: true },
      { name: 'iat T+tolerance', claims: { iat: T + TOLERANCE }, fields: { signingInputHash: HASH }, revoked: true },
      { name: 'other hash', claims: { iat: T - 100 }, fields: { signingInputHash: OTHER_HASH }, revoked: false },
      { name: 'other issuer', claims: { iat: T - 100 }, fields: { iss: OTHER_ISS, signingInputHash: HASH }, revoked: false },
      { name: 'jti equal to hash', claims: { jti: HASH, iat: T - 100 }, revoked: false },
    ],
  },
  {
    selector: 'subject',
    target: { kind: 'subject', iss: ISS, sub: 'user-1', before: T },
    cases: [
      ...issuedAtCases({ sub: 'user-1' }),
      { name: 'other subject', claims: { sub: 'user-2', iat: T - 1 }, revoked: false },
      { name: 'no sub', claims: { iat: T - 1 }, revoked: false },
    ],
  },
  {
    selector: 'session',
    target: { kind: 'session', iss: ISS, sid: 'session-1', before: T },
    cases: [
      ...issuedAtCases({ sid: 'session-1' }),
      { name: 'other session', claims: { sid: 'session-2', iat: T - 1 }, revoked: false },
      { name: 'no sid', claims: { sub: 'session-1', iat: T - 1 }, revoked: false },
    ],
  },
  {
    selector: 'client',
    target: { kind: 'client', iss: ISS, clientId: 'client-1', before: T },
    cases: [
      ...issuedAtCases({ client_id: 'client-1' }),
      { name: 'azp without client_id', claims: { azp: 'client-1', iat: T - 1 }, revoked: true },
      { name: 'client_id before azp', claims: { client_id: 'client-2', azp: 'client-1', iat: T - 1 }, revoked: false },
      { name: 'other client', claims: { client_id: 'client-2', iat: T - 1 }, revoked: false },
      { name: 'no client claim', claims: { sub: 'client-1', iat: T - 1 }, revoked: false },
    ],
  },
  {
    selector: 'key',
    target: { kind: 'key', iss: ISS, kid: 'key-1' },
    cases: [
      { name: 'same kid', claims: { iat: T - 100 }, revoked: true },
      { name: 'issued a year later', claims: { iat: T + 365 * 86_400 }, revoked: true },
      { name: 'other kid', claims: { iat: T - 100 }, fields: { kid: 'key-2' }, revoked: false },
      { name: 'other issuer', claims: { iat: T - 100 }, fields: { iss: OTHER_ISS }, revoked: false },
      { name: 'no kid', claims: { iat: T - 100 }, fields: { kid: undefined }, revoked: false },
    ],
  },
  {
    selector: 'issuer',
    target: { kind: 'issuer', iss: ISS, before: T },
    cases: issuedAtCases({ sub: 'user-1' }),
  },
  {
    selector: 'version',
    target: { kind: 'version', iss: ISS, sub: 'user-1', minVersion: 3 },
    cases: [
      { name: 'version 2', claims: { sub: 'user-1', ver: 2, iat: T - 100 }, revoked: true },
      { name: 'version 0', claims: { sub: 'user-1', ver: 0, iat: T - 100 }, revoked: true },
      { name: 'no version', claims: { sub: 'user-1', iat: T - 100 }, revoked: true },
      { name: 'version string', claims: { sub: 'user-1', ver: '5', iat: T - 100 }, revoked: true },
      { name: 'version 2 issued later', claims: { sub: 'user-1', ver: 2, iat: T + 365 * 86_400 }, revoked: true },
      { name: 'version 3', claims: { sub: 'user-1', ver: 3, iat: T - 100 }, revoked: false },
      { name: 'version 4', claims: { sub: 'user-1', ver: 4, iat: T - 100 }, revoked: false },
      { name: 'other subject', claims: { sub: 'user-2', ver: 2, iat: T - 100 }, revoked: false },
      { name: 'other issuer', claims: { sub: 'user-1', ver: 2, iat: T - 100 }, fields: { iss: OTHER_ISS }, revoked: false },
      { name: 'no sub', claims: { ver: 2, iat: T - 100 }, revoked: false },
    ],
  },
  {
    selector: 'version claim',
    versionClaim: 'token_version',
    target: { kind: 'version', iss: ISS, sub: 'user-1', minVersion: 3 },
    cases: [
      { name: 'configured claim low', claims: { sub: 'user-1', token_version: 2, ver: 9 }, revoked: true },
      { name: 'configured claim missing', claims: { sub: 'user-1', ver: 9 }, revoked: true },
      { name: 'configured claim high', claims: { sub: 'user-1', token_version: 3, ver: 0 }, revoked: false },
    ],
  },
  {
    selector: 'subject until lifted',
    target: { kind: 'subject', iss: ISS, sub: 'user-1' },
    cases: [...untilLiftedCases({ sub: 'user-1' }), { name: 'other subject', claims: { sub: 'user-2', iat: T }, revoked: false }],
  },
  {
    selector: 'session until lifted',
    target: { kind: 'session', iss: ISS, sid: 'session-1' },
    cases: [...untilLiftedCases({ sid: 'session-1' }), { name: 'other session', claims: { sid: 'session-2', iat: T }, revoked: false }],
  },
  {
    selector: 'client until lifted',
    target: { kind: 'client', iss: ISS, clientId: 'client-1' },
    cases: [
      ...untilLiftedCases({ client_id: 'client-1' }),
      { name: 'azp without client_id', claims: { azp: 'client-1', iat: T + 1 }, revoked: true },
      { name: 'other client', claims: { client_id: 'client-2', iat: T }, revoked: false },
    ],
  },
];

/** Proxy clocks each case is checked at: matching does not depend on the clock, only on the token. */
const CLOCKS: readonly { name: string; seconds: number }[] = [
  { name: 'T-tolerance', seconds: T - TOLERANCE },
  { name: 'T', seconds: T },
  { name: 'T+tolerance', seconds: T + TOLERANCE },
];

for (const { selector, target, cases, versionClaim } of SELECTOR_TABLES) {
  for (const { name, claims, fields, revoked } of cases) {
    test(`Denylist ${selector} ${name}`, () => {
      const { denylist, setNow } = denylistAt(T - TOLERANCE, versionClaim);
      denylist.apply(event(target));

      for (const clock of CLOCKS) {
        setNow(clock.seconds);
        assert.equal(denylist.match(token(claims, fields))?.id, revoked ? 'rev-1' : undefined, `at clock ${clock.name}`);
      }
    });
  }
}

test('Denylist issuer and value kept apart', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: 'a', jti: 'bc' }));

  assert.equal(denylist.match(token({ jti: 'c' }, { iss: 'ab' })), undefined);
  assert.equal(denylist.match(token({ jti: 'bc' }, { iss: 'a' }))?.id, 'rev-1');
});

test('Denylist subject with and without time', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }, { id: 'bounded' }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1' }, { id: 'until-lifted' }));

  assert.equal(denylist.size, 2);
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T + 1 }))?.id, 'until-lifted');
  assert.equal(denylist.lift('until-lifted', T + 1), 'lifted');
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T }))?.id, 'bounded');
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T + 1 })), undefined);
});

test('Denylist entry fields', () => {
  const { denylist } = denylistAt(T);
  const target: RevocationTarget = { kind: 'subject', iss: ISS, sub: 'user-1', before: T - 5 };
  denylist.apply(event(target));
  const entry = denylist.match(token({ sub: 'user-1', iat: T - 10 }));

  assert.ok(entry);
  assert.equal(entry.id, 'rev-1');
  assert.deepEqual(entry.target, target);
  assert.equal(entry.signedBy, 'responder-1');
  assert.equal(entry.actor, 'alice');
  assert.equal(entry.reason, 'stolen laptop');
  assert.equal(entry.issuedAt, T);
  assert.equal(entry.dropAfter, T - 5 + BOUNDS.maxLifetime + BOUNDS.tolerance);
});

test('Denylist token entry bound', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 60 }));
  const entry = denylist.match(token({ jti: 'token-1' }));

  assert.ok(entry);
  assert.equal(entry.target.kind, 'token');
  assert.equal(entry.dropAfter, T + 60 + BOUNDS.tolerance);
});

test('Denylist get by id', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }, { id: 'rev-key' }));

  assert.equal(denylist.get('rev-key')?.target.kind, 'key');
  assert.equal(denylist.get('rev-other'), undefined);
});

// --- Newer and older events for one key ----------------------------------------------------------

/** One target of every kind and form, for tests that hold for all of them. */
const EVERY_TARGET: readonly { name: string; target: RevocationTarget }[] = [
  { name: 'jti', target: { kind: 'token', iss: ISS, jti: 'token-1' } },
  { name: 'hash', target: { kind: 'token', iss: ISS, sha256: HASH } },
  { name: 'subject', target: { kind: 'subject', iss: ISS, sub: 'user-1', before: T - 200 } },
  { name: 'subject until lifted', target: { kind: 'subject', iss: ISS, sub: 'user-1' } },
  { name: 'session', target: { kind: 'session', iss: ISS, sid: 'session-1', before: T - 200 } },
  { name: 'session until lifted', target: { kind: 'session', iss: ISS, sid: 'session-1' } },
  { name: 'client', target: { kind: 'client', iss: ISS, clientId: 'client-1', before: T - 200 } },
  { name: 'client until lifted', target: { kind: 'client', iss: ISS, clientId: 'client-1' } },
  { name: 'key', target: { kind: 'key', iss: ISS, kid: 'key-1' } },
  { name: 'issuer', target: { kind: 'issuer', iss: ISS, before: T - 200 } },
  { name: 'version', target: { kind: 'version', iss: ISS, sub: 'user-1', minVersion: 3 } },
];

for (const { name, target } of EVERY_TARGET) {
  test(`Denylist equal strength keeps first ${name}`, () => {
    const { denylist } = denylistAt(T);
    denylist.apply(event(target, { id: 'first', issuedAt: T - 120 }));

    assert.equal(denylist.apply(event(target, { id: 'second', issuedAt: T - 120 })), 'superseded');
    assert.equal(denylist.get('first')?.issuedAt, T - 120);
    assert.equal(denylist.get('second'), undefined);
    assert.equal(denylist.size, 1);
    assert.equal(denylist.countByKind()[target.kind], 1);
  });

  test(`Denylist replay after lift ignored ${name}`, () => {
    const { denylist } = denylistAt(T);
    denylist.apply(event(target, { id: 'revoked', issuedAt: T - 120 }));
    assert.equal(denylist.lift('revoked', T - 60), 'lifted');

    assert.equal(denylist.apply(event(target, { id: 'revoked', issuedAt: T - 120 })), 'superseded');
    assert.equal(denylist.size, 0);
    assert.equal(denylist.apply(event(target, { id: 'again', issuedAt: T })), 'applied');
  });
}

/** Pairs of targets for one key where the second rejects more tokens, or for longer. */
const STRONGER: readonly { name: string; weaker: RevocationTarget; stronger: RevocationTarget }[] = [
  { name: 'token expiry', weaker: { kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 60 }, stronger: { kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 600 } },
  { name: 'subject time', weaker: { kind: 'subject', iss: ISS, sub: 'user-1', before: T - 200 }, stronger: { kind: 'subject', iss: ISS, sub: 'user-1', before: T - 100 } },
  { name: 'session time', weaker: { kind: 'session', iss: ISS, sid: 's-1', before: T - 200 }, stronger: { kind: 'session', iss: ISS, sid: 's-1', before: T - 100 } },
  { name: 'client time', weaker: { kind: 'client', iss: ISS, clientId: 'c-1', before: T - 200 }, stronger: { kind: 'client', iss: ISS, clientId: 'c-1', before: T - 100 } },
  { name: 'issuer time', weaker: { kind: 'issuer', iss: ISS, before: T - 200 }, stronger: { kind: 'issuer', iss: ISS, before: T - 100 } },
  { name: 'minimum version', weaker: { kind: 'version', iss: ISS, sub: 'user-1', minVersion: 3 }, stronger: { kind: 'version', iss: ISS, sub: 'user-1', minVersion: 4 } },
];

for (const { name, weaker, stronger } of STRONGER) {
  test(`Denylist stronger replaces ${name}`, () => {
    const { denylist } = denylistAt(T);
    denylist.apply(event(weaker, { id: 'weaker', issuedAt: T - 120 }));

    assert.equal(denylist.apply(event(stronger, { id: 'stronger', issuedAt: T - 150 })), 'applied');
    assert.equal(denylist.get('weaker'), undefined);
    assert.equal(denylist.size, 1);
  });

  test(`Denylist weaker ignored ${name}`, () => {
    const { denylist } = denylistAt(T);
    denylist.apply(event(stronger, { id: 'stronger', issuedAt: T - 120 }));

    assert.equal(denylist.apply(event(weaker, { id: 'weaker', issuedAt: T })), 'superseded');
    assert.equal(denylist.get('stronger')?.id, 'stronger');
  });
}

test('Denylist newer subject time replaces older', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }, { id: 'rev-1' }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T + 100 }, { id: 'rev-2', issuedAt: T + 100 }));

  assert.equal(denylist.match(token({ sub: 'user-1', iat: T + 50 }))?.id, 'rev-2');
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T }))?.id, 'rev-2');
  assert.equal(denylist.size, 1);
});

test('Denylist replayed older subject keeps newer', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }, { id: 'newer', issuedAt: T }));
  const applied = denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T - 120 }, { id: 'older', issuedAt: T - 120 }));

  assert.equal(applied, 'superseded');
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T - 60 }))?.id, 'newer');
});

test('Denylist newer version raises minimum', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'version', iss: ISS, sub: 'user-1', minVersion: 3 }, { id: 'min-3', issuedAt: T - 10 }));
  denylist.apply(event({ kind: 'version', iss: ISS, sub: 'user-1', minVersion: 5 }, { id: 'min-5', issuedAt: T }));

  assert.equal(denylist.match(token({ sub: 'user-1', ver: 4 }))?.id, 'min-5');
  assert.equal(denylist.match(token({ sub: 'user-1', ver: 5 })), undefined);
});

test('Denylist replayed older version keeps newer', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'version', iss: ISS, sub: 'user-1', minVersion: 5 }, { id: 'min-5', issuedAt: T }));
  const applied = denylist.apply(event({ kind: 'version', iss: ISS, sub: 'user-1', minVersion: 3 }, { id: 'min-3', issuedAt: T - 10 }));

  assert.equal(applied, 'superseded');
  assert.equal(denylist.match(token({ sub: 'user-1', ver: 4 }))?.id, 'min-5');
});

// --- Lifts ----------------------------------------------------------------------------------------

for (const { name, target } of EVERY_TARGET) {
  test(`Denylist lift ${name}`, () => {
    const { denylist } = denylistAt(T);
    denylist.apply(event(target, { id: 'rev-1' }));

    assert.equal(denylist.lift('rev-1', T + 1), 'lifted');
    assert.equal(denylist.get('rev-1'), undefined);
    assert.equal(denylist.size, 0);
  });
}

test('Denylist lift removes match', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1' }));
  denylist.lift('rev-1', T + 1);

  assert.equal(denylist.match(token({ sub: 'user-1', iat: T - 100 })), undefined);
});

test('Denylist lift in same second', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }));

  assert.equal(denylist.lift('rev-1', T), 'lifted');
});

test('Denylist lift older than revocation', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1' }, { id: 'rev-1', issuedAt: T + 100 }));

  assert.equal(denylist.lift('rev-1', T), 'superseded');
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T }))?.id, 'rev-1');
  assert.equal(denylist.size, 1);
});

test('Denylist lift of replaced revocation', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T - 200 }, { id: 'rev-1', issuedAt: T - 100 }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T - 50 }, { id: 'rev-2', issuedAt: T - 50 }));

  assert.equal(denylist.lift('rev-1', T + 200), 'not_found');
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T - 60 }))?.id, 'rev-2');
});

test('Denylist lifts survive a snapshot', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }, { id: 'rev-1', issuedAt: T - 100 }));
  denylist.lift('rev-1', T);
  const restored = denylistAt(T).denylist;
  restored.importLifts(JSON.parse(JSON.stringify(denylist.exportLifts())));

  assert.equal(restored.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }, { id: 'rev-1', issuedAt: T - 100 })), 'superseded');
});

test('Denylist lift unknown id', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }));

  assert.equal(denylist.lift('rev-unknown', T + 1), 'not_found');
  assert.equal(denylist.size, 1);
});

test('Denylist lift twice', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }));
  denylist.lift('rev-1', T + 1);

  assert.equal(denylist.lift('rev-1', T + 2), 'not_found');
});

test('Denylist revoke again after lift', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }, { id: 'rev-1' }));
  denylist.lift('rev-1', T + 1);

  assert.equal(denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }, { id: 'rev-2', issuedAt: T + 2 })), 'applied');
  assert.equal(denylist.match(token({}))?.id, 'rev-2');
});

// --- Expiry ------------------------------------------------------------------------------------

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
  assert.equal(denylist.get('rev-1')?.id, 'rev-1');
  assert.equal(denylist.size, 1);
});

test('Denylist old until-lifted event applies', () => {
  const { denylist } = denylistAt(T + TEN_YEARS);

  assert.equal(denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1' })), 'applied');
});

test('Denylist token entry capped by lifetime', () => {
  const { denylist, setNow } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 10 * BOUNDS.maxLifetime }));
  setNow(T + BOUNDS.maxLifetime + 2 * BOUNDS.tolerance + 1);
  denylist.prune();

  assert.equal(denylist.size, 0);
});

/** Time-bound targets, each with the time in seconds after which prune drops its entry. */
const PRUNE_CASES: readonly { name: string; target: RevocationTarget; bound: number }[] = [
  { name: 'jti with exp', target: { kind: 'token', iss: ISS, jti: 'token-1', expiresAt: T + 600 }, bound: T + 600 + TOLERANCE },
  { name: 'hash with exp', target: { kind: 'token', iss: ISS, sha256: HASH, expiresAt: T + 600 }, bound: T + 600 + TOLERANCE },
  { name: 'jti without exp', target: { kind: 'token', iss: ISS, jti: 'token-1' }, bound: T + BOUNDS.maxLifetime + 2 * TOLERANCE },
  { name: 'hash without exp', target: { kind: 'token', iss: ISS, sha256: HASH }, bound: T + BOUNDS.maxLifetime + 2 * TOLERANCE },
  { name: 'subject', target: { kind: 'subject', iss: ISS, sub: 'user-1', before: T - 100 }, bound: T - 100 + BOUNDS.maxLifetime + TOLERANCE },
  { name: 'session', target: { kind: 'session', iss: ISS, sid: 'session-1', before: T - 100 }, bound: T - 100 + BOUNDS.maxLifetime + TOLERANCE },
  { name: 'client', target: { kind: 'client', iss: ISS, clientId: 'client-1', before: T - 100 }, bound: T - 100 + BOUNDS.maxLifetime + TOLERANCE },
  { name: 'issuer', target: { kind: 'issuer', iss: ISS, before: T - 100 }, bound: T - 100 + BOUNDS.maxLifetime + TOLERANCE },
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
    assert.equal(denylist.get('rev-1'), undefined);
  });
}

/** Targets that last until lifted: prune never drops them. */
const UNTIL_LIFTED_TARGETS = EVERY_TARGET.filter(({ target }) => lastsUntilLifted(target));

for (const { name, target } of UNTIL_LIFTED_TARGETS) {
  test(`Denylist never prunes ${name}`, () => {
    const { denylist, setNow } = denylistAt(T);
    denylist.apply(event(target));
    setNow(T + TEN_YEARS);

    assert.equal(denylist.prune(), 0);
    assert.equal(denylist.size, 1);
    assert.equal(denylist.get('rev-1')?.dropAfter, Number.POSITIVE_INFINITY);
  });
}

test('Denylist prune keeps live entries', () => {
  const { denylist, setNow } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'short', expiresAt: T + 10 }));
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'long', expiresAt: T + 1_000 }));
  setNow(T + 100);

  assert.equal(denylist.prune(), 1);
  assert.equal(denylist.match(token({ jti: 'short' })), undefined);
  assert.equal(denylist.match(token({ jti: 'long' }))?.target.kind, 'token');
});

test('Denylist bounds per issuer', () => {
  let nowMilliseconds = T * 1000;
  const denylist = new Denylist((iss) => (iss === ISS ? BOUNDS : { maxLifetime: 60, tolerance: 0 }), {
    versionClaim: 'ver',
    now: () => nowMilliseconds,
  });
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }));
  denylist.apply(event({ kind: 'subject', iss: OTHER_ISS, sub: 'user-1', before: T }));
  nowMilliseconds = (T + 61) * 1000;

  assert.equal(denylist.prune(), 1);
  assert.equal(denylist.match(token({ sub: 'user-1', iat: T }))?.target.iss, ISS);
});

// An entry for a token whose exp is unknown is kept until T + maxLifetime + 2 * tolerance. An issuer
// whose clock runs ahead by the tolerance can mint, before T, a token with iat = T + tolerance and
// exp = iat + maxLifetime. checkClaims accepts that iat, and jose accepts the token until
// exp + tolerance = T + maxLifetime + 2 * tolerance.
test('Denylist jti entry outlives skewed token', () => {
  const { denylist, setNow } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));
  setNow(T + BOUNDS.maxLifetime + 2 * BOUNDS.tolerance - 1);

  assert.equal(denylist.prune(), 0);
  assert.equal(denylist.match(token({ jti: 'token-1' }))?.id, 'rev-1');
});

test('Denylist memory returns after prune', () => {
  const { denylist, setNow } = denylistAt(T);
  for (let index = 0; index < 1_000; index++) {
    for (const [caseIndex, { target }] of PRUNE_CASES.entries()) {
      const distinct = { ...target, iss: `${ISS}/${index}/${caseIndex}` } as RevocationTarget;
      denylist.apply(event(distinct, { id: `rev-${index}-${caseIndex}` }));
    }
  }
  const filled = denylist.size;
  setNow(T + TEN_YEARS);

  assert.equal(filled, 1_000 * PRUNE_CASES.length);
  assert.equal(denylist.prune(), filled);
  assert.equal(denylist.size, 0);
  assert.deepEqual(nonZeroCounts(denylist), {});
  assert.equal(denylist.get('rev-0-0'), undefined);
});

test('Denylist prune leaves until-lifted entries', () => {
  const { denylist, setNow } = denylistAt(T);
  for (const [index, { target }] of [...PRUNE_CASES, ...UNTIL_LIFTED_TARGETS].entries()) {
    denylist.apply(event(target, { id: `rev-${index}` }));
  }
  setNow(T + TEN_YEARS);
  denylist.prune();

  assert.equal(denylist.size, UNTIL_LIFTED_TARGETS.length);
  assert.deepEqual(nonZeroCounts(denylist), { subject: 1, session: 1, client: 1, key: 1, version: 1 });
});

// --- Counts ---------------------------------------------------------------------------------------

test('Denylist countByKind', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }));
  denylist.apply(event({ kind: 'subject', iss: OTHER_ISS, sub: 'user-1', before: T }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1' }));
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }));

  assert.deepEqual(nonZeroCounts(denylist), { token: 2, subject: 3, key: 1 });
  assert.equal(denylist.size, 6);
});

// The revgate_revocation_entries gauge and the admin status report countByKind(). A kind missing
// from it makes its series vanish instead of reading 0.
test('Denylist countByKind empty', () => {
  const { denylist } = denylistAt(T);

  assert.deepEqual(denylist.countByKind(), ZERO_COUNTS);
});

test('Denylist countByKind after lift', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }));
  denylist.lift('rev-1', T + 1);

  assert.deepEqual(nonZeroCounts(denylist), {});
});

test('Denylist countByKind after replace', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }, { id: 'rev-1' }));
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }, { id: 'rev-2', issuedAt: T + 1 }));

  assert.equal(denylist.countByKind()['key'], 1);
});

// --- Snapshots ------------------------------------------------------------------------------------

test('Denylist snapshot round trip', () => {
  const { denylist } = denylistAt(T);
  for (const [index, { target }] of EVERY_TARGET.entries()) denylist.apply(event(target, { id: `rev-${index}` }));
  const rows = JSON.parse(JSON.stringify(denylist.exportRows())) as SnapshotRow[];
  const restored = denylistAt(T).denylist;

  assert.equal(restored.importRows(rows), EVERY_TARGET.length);
  assert.equal(restored.size, denylist.size);
  assert.deepEqual(restored.countByKind(), denylist.countByKind());
  assert.deepEqual([...restored.values()], [...denylist.values()]);
});

test('Denylist snapshot matches after import', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }, { id: 'rev-1' }));
  denylist.apply(event({ kind: 'token', iss: ISS, sha256: HASH }, { id: 'rev-2' }));
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }, { id: 'rev-3' }));
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-9' }, { id: 'rev-4' }));
  denylist.apply(event({ kind: 'version', iss: ISS, sub: 'user-2', minVersion: 2 }, { id: 'rev-5' }));
  const rows = JSON.parse(JSON.stringify(denylist.exportRows())) as SnapshotRow[];
  const restored = denylistAt(T).denylist;
  restored.importRows(rows);

  assert.equal(restored.match(token({ jti: 'token-1' }))?.id, 'rev-1');
  assert.equal(restored.match(token({}, { signingInputHash: HASH }))?.id, 'rev-2');
  assert.equal(restored.match(token({ sub: 'user-1', iat: T }))?.id, 'rev-3');
  assert.equal(restored.match(token({ sub: 'user-1', iat: T + 1 })), undefined);
  assert.equal(restored.match(token({}, { kid: 'key-9' }))?.id, 'rev-4');
  assert.equal(restored.match(token({ sub: 'user-2', ver: 1 }))?.id, 'rev-5');
});

test('Denylist snapshot writes Infinity as null', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }));
  const [row] = JSON.parse(JSON.stringify(denylist.exportRows())) as unknown[][];

  assert.equal((row?.[1] as Record<string, unknown>)['dropAfter'], null);
});

test('Denylist snapshot restores Infinity', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1' }));
  const rows = JSON.parse(JSON.stringify(denylist.exportRows())) as SnapshotRow[];
  const { denylist: restored, setNow } = denylistAt(T);
  restored.importRows(rows);
  setNow(T + TEN_YEARS);

  assert.equal(restored.get('rev-1')?.dropAfter, Number.POSITIVE_INFINITY);
  assert.equal(restored.prune(), 0);
  assert.equal(restored.match(token({ sub: 'user-1', iat: T + TEN_YEARS }))?.id, 'rev-1');
});

test('Denylist snapshot lift after import', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'key', iss: ISS, kid: 'key-1' }));
  const restored = denylistAt(T).denylist;
  restored.importRows(JSON.parse(JSON.stringify(denylist.exportRows())) as SnapshotRow[]);

  assert.equal(restored.lift('rev-1', T + 1), 'lifted');
  assert.equal(restored.size, 0);
});

test('Denylist snapshot skips expired rows', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'short', expiresAt: T + 10 }));
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'long', expiresAt: T + 1_000 }));
  const rows = denylist.exportRows();
  const restored = denylistAt(T + 100).denylist;

  assert.equal(restored.importRows(rows), 1);
  assert.equal(restored.match(token({ jti: 'short' })), undefined);
  assert.equal(restored.match(token({ jti: 'long' }))?.target.kind, 'token');
});

test('Denylist snapshot skips malformed rows', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'token', iss: ISS, jti: 'token-1' }));
  const [valid] = denylist.exportRows();
  assert.ok(valid);
  const [key, entry] = valid;
  const rows = [
    'not a row',
    null,
    // The row layout before targets: kind, key, entry.
    ['token', key, entry],
    [42, entry],
    [key, { ...entry, dropAfter: String(entry.dropAfter) }],
    [key, { ...entry, id: 7 }],
    [key, { ...entry, target: undefined }],
    [key, { ...entry, target: { ...entry.target, kind: 3 } }],
    [key],
  ] as unknown as SnapshotRow[];
  const restored = denylistAt(T).denylist;

  assert.equal(restored.importRows(rows), 0);
  assert.equal(restored.size, 0);
});

test('Denylist snapshot entry fields kept', () => {
  const { denylist } = denylistAt(T);
  denylist.apply(event({ kind: 'subject', iss: ISS, sub: 'user-1', before: T }));
  const restored = denylistAt(T).denylist;
  restored.importRows(JSON.parse(JSON.stringify(denylist.exportRows())) as SnapshotRow[]);
  const entry: DenylistEntry | undefined = restored.match(token({ sub: 'user-1', iat: T }));

  assert.deepEqual(entry, denylist.match(token({ sub: 'user-1', iat: T })));
});
