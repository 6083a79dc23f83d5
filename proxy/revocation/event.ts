/**
 * The revocation event envelope: a Security Event Token (RFC 8417), a compact JWS with
 * `typ: secevent+jwt`, signed by a responder key. The SET's `jti` is the event id (for a
 * revocation, the revocation id), its `iat` orders events for the same key, its header `kid` names
 * the signing key and its optional `actor` claim names the person. What the event asks for is in
 * the `events` claim, which event-mapping.ts reads and writes.
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyGetKey } from 'jose';

import { EventRejectedError } from './event-errors.js';
import { decodeEvents, encodeLift, encodeRevocation, isLiftEvent, readReason, type RevocationCommand } from './event-mapping.js';
import type { RevocationTarget } from './target.js';

export { EventRejectedError, type EventRejection } from './event-errors.js';
export type { RevocationTarget } from './target.js';

export const SET_TYPE = 'secevent+jwt';
/** `iss` of events that revgate signs; events relayed from identity providers carry their own. */
export const SET_ISSUER = 'revgate';

/** Algorithms a responder key may use; asymmetric only, so that proxies hold no signing secret. */
export const RESPONDER_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'RS256', 'PS256'];

/** Events may be dated this far ahead of the verifier's clock, in seconds; later ones are rejected. */
const MAX_FUTURE_SECONDS = 300;

/** A revocation as the denylist stores it. */
export interface RevocationEvent {
  /** The revocation id: the SET's `jti`. */
  id: string;
  target: RevocationTarget;
  /** When the revocation was issued (SET `iat`), in seconds. */
  issuedAt: number;
  /** `kid` of the responder key that signed the event. */
  signedBy: string;
  actor: string | undefined;
  reason: string;
}

/** A verified event and what it asks for. */
export interface VerifiedEvent {
  id: string;
  issuedAt: number;
  signedBy: string;
  actor: string | undefined;
  reason: string;
  command: RevocationCommand;
}

export interface SigningKey {
  key: CryptoKey;
  kid: string;
  alg: string;
}

/** The key sets that verify events: every trusted responder, and the subset trusted for lifts. */
export interface ResponderKeys {
  revoke: JWTVerifyGetKey;
  lift: JWTVerifyGetKey | undefined;
}

export interface EventDraft {
  id: string;
  reason: string;
  actor?: string | undefined;
  /** Issue time in seconds; defaults to now. */
  issuedAt?: number;
}

/** Signs a revocation of `target` as a compact SET. */
export async function signRevocationEvent(draft: EventDraft & { target: RevocationTarget }, signingKey: SigningKey): Promise<string> {
  const issuedAt = draft.issuedAt ?? Math.floor(Date.now() / 1000);
  return signEvents(draft, issuedAt, encodeRevocation(draft.target, draft.reason, issuedAt), signingKey);
}

/** Signs a lift of the revocation `revocationId` as a compact SET. */
export async function signLiftEvent(draft: EventDraft & { revocationId: string }, signingKey: SigningKey): Promise<string> {
  const issuedAt = draft.issuedAt ?? Math.floor(Date.now() / 1000);
  return signEvents(draft, issuedAt, encodeLift(draft.revocationId, draft.reason, issuedAt), signingKey);
}

async function signEvents(draft: EventDraft, issuedAt: number, events: Record<string, unknown>, signingKey: SigningKey): Promise<string> {
  const claims: JWTPayload = { events };
  if (draft.actor !== undefined) claims['actor'] = draft.actor;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: signingKey.alg, typ: SET_TYPE, kid: signingKey.kid })
    .setIssuer(SET_ISSUER)
    .setJti(draft.id)
    .setIssuedAt(issuedAt)
    .sign(signingKey.key);
}

/**
 * Verifies a SET and maps it to a command, or throws EventRejectedError. A lift verifies only
 * against the keys trusted for lifts, so that a key trusted only for revoking cannot undo one.
 */
export async function verifyRevocationEvent(compact: string, keys: ResponderKeys, now = Date.now()): Promise<VerifiedEvent> {
  const lift = isLiftEvent(readUnverifiedEvents(compact));
  const verificationKeys = lift ? keys.lift : keys.revoke;
  if (!verificationKeys) throw new EventRejectedError('lift_not_allowed', 'no responder key is trusted for lifts');
  // Without a kid the event names no actor, whichever key might verify it.
  if (readUnverifiedKid(compact) === undefined) {
    throw new EventRejectedError(lift ? 'lift_not_allowed' : 'untrusted_key', 'event header has no kid');
  }

  let payload: JWTPayload;
  let kid: string | undefined;
  try {
    const result = await jwtVerify(compact, verificationKeys, {
      typ: SET_TYPE,
      algorithms: RESPONDER_ALGORITHMS,
      requiredClaims: ['iat', 'jti'],
      currentDate: new Date(now),
    });
    payload = result.payload;
    kid = result.protectedHeader.kid;
  } catch (error) {
    throw translateJoseError(error, lift);
  }
  if (kid === undefined) throw new EventRejectedError('untrusted_key', 'event header has no kid');
  if (typeof payload.jti !== 'string' || payload.jti === '') throw new EventRejectedError('malformed', 'jti must be a non-empty string');
  const issuedAt = payload.iat;
  if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt) || issuedAt < 0 || issuedAt > now / 1000 + MAX_FUTURE_SECONDS) {
    throw new EventRejectedError('malformed', 'iat must be a time that is not in the future');
  }

  const command = decodeEvents(payload['events'], issuedAt);
  const event = Object.values(payload['events'] as Record<string, unknown>)[0];
  return {
    id: payload.jti,
    issuedAt,
    signedBy: kid,
    actor: typeof payload['actor'] === 'string' ? payload['actor'] : undefined,
    reason: readReason(event),
    command,
  };
}

function readUnverifiedKid(compact: string): string | undefined {
  try {
    const { kid } = decodeProtectedHeader(compact);
    return typeof kid === 'string' && kid !== '' ? kid : undefined;
  } catch {
    throw new EventRejectedError('malformed', 'not a compact JWS');
  }
}

function readUnverifiedEvents(compact: string): unknown {
  try {
    return decodeJwt(compact)['events'];
  } catch {
    throw new EventRejectedError('malformed', 'not a compact JWS with a JSON payload');
  }
}

function translateJoseError(error: unknown, lift: boolean): EventRejectedError {
  const code = (error as { code?: unknown }).code;
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_JWKS_NO_MATCHING_KEY') {
    return lift
      ? new EventRejectedError('lift_not_allowed', 'lift signed by a key that is not trusted for lifts')
      : new EventRejectedError('untrusted_key', 'signed by a key that is not a trusted responder');
  }
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return new EventRejectedError('invalid_signature', 'signature does not verify');
  return new EventRejectedError('malformed', detail);
}
