/**
 * The revocation event codec. A revocation is a Security Event Token (RFC 8417) signed by a
 * responder key, carrying one CAEP `session-revoked` event whose subject identifier (RFC 9493)
 * says what is revoked:
 *
 * - `{"format": "jwt_id", "iss", "jti"}`: one token, by issuer and JWT ID;
 * - `{"format": "revgate_token_hash", "iss", "sha256"}`: one token without `jti`, by the base64url
 *   SHA-256 of its signing input `header.payload` (a format of this project, not registered);
 * - `{"format": "iss_sub", "iss", "sub"}`: every token of a subject issued at or before `event_timestamp`.
 *
 * The SET's `jti` is the revocation id. `reason_admin` and `initiating_entity` are CAEP members;
 * `token_expires_at` is this project's optional member that tells when a revoked token expires.
 */
import { SignJWT, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type CryptoKey } from 'jose';

export const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
export const SET_TYPE = 'secevent+jwt';
export const SET_ISSUER = 'revgate';

/** Algorithms a responder key may use; asymmetric only, so that proxies hold no signing secret. */
export const RESPONDER_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'RS256', 'PS256'];

export type RevocationTarget =
  | { kind: 'token'; iss: string; jti: string; expiresAt?: number }
  | { kind: 'token'; iss: string; sha256: string; expiresAt?: number }
  | { kind: 'subject'; iss: string; sub: string; before: number };

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

/** Why an event read from the stream was skipped; a label value of the events metric. */
export type EventRejection = 'untrusted_key' | 'invalid_signature' | 'malformed' | 'unknown_event_type' | 'invalid_subject';

export class EventRejectedError extends Error {
  constructor(readonly reason: EventRejection, detail: string) {
    super(detail);
    this.name = 'EventRejectedError';
  }
}

export interface SigningKey {
  key: CryptoKey;
  kid: string;
  alg: string;
}

export interface EventDraft {
  id: string;
  target: RevocationTarget;
  reason: string;
  actor?: string | undefined;
  /** Issue time in seconds; defaults to now. */
  issuedAt?: number;
}

/** Signs a revocation event as a compact SET. */
export async function signRevocationEvent(draft: EventDraft, signingKey: SigningKey): Promise<string> {
  const issuedAt = draft.issuedAt ?? Math.floor(Date.now() / 1000);
  const { target } = draft;
  const event: Record<string, unknown> = {
    subject: subjectIdentifier(target),
    event_timestamp: target.kind === 'subject' ? target.before : issuedAt,
    initiating_entity: 'admin',
    reason_admin: { en: draft.reason },
  };
  if (target.kind === 'token' && target.expiresAt !== undefined) event['token_expires_at'] = target.expiresAt;

  const claims: JWTPayload = { events: { [SESSION_REVOKED]: event } };
  if (draft.actor !== undefined) claims['actor'] = draft.actor;

  return new SignJWT(claims)
    .setProtectedHeader({ alg: signingKey.alg, typ: SET_TYPE, kid: signingKey.kid })
    .setIssuer(SET_ISSUER)
    .setJti(draft.id)
    .setIssuedAt(issuedAt)
    .sign(signingKey.key);
}

function subjectIdentifier(target: RevocationTarget): Record<string, string> {
  if (target.kind === 'subject') return { format: 'iss_sub', iss: target.iss, sub: target.sub };
  if ('jti' in target) return { format: 'jwt_id', iss: target.iss, jti: target.jti };
  return { format: 'revgate_token_hash', iss: target.iss, sha256: target.sha256 };
}

/** Events may be dated this far ahead of the verifier's clock, in seconds; later ones are rejected. */
const MAX_FUTURE_SECONDS = 300;

/** Verifies a SET against the trusted responder keys and decodes it, or throws EventRejectedError. */
export async function verifyRevocationEvent(compact: string, responderKeys: JWTVerifyGetKey, now = Date.now()): Promise<RevocationEvent> {
  let payload: JWTPayload;
  let kid: string | undefined;
  try {
    const result = await jwtVerify(compact, responderKeys, {
      typ: SET_TYPE,
      issuer: SET_ISSUER,
      algorithms: RESPONDER_ALGORITHMS,
      requiredClaims: ['iat', 'jti'],
    });
    payload = result.payload;
    kid = result.protectedHeader.kid;
  } catch (error) {
    throw translateJoseError(error);
  }
  if (kid === undefined) throw new EventRejectedError('untrusted_key', 'event header has no kid');
  if (typeof payload.jti !== 'string' || payload.jti === '') throw new EventRejectedError('malformed', 'jti must be a non-empty string');

  const issuedAt = payload.iat;
  if (!isNumericDate(issuedAt) || issuedAt > now / 1000 + MAX_FUTURE_SECONDS) {
    throw new EventRejectedError('malformed', 'iat must be a time that is not in the future');
  }
  const event = readSingleEvent(payload);
  const reason = readReason(event['reason_admin']);
  const actor = typeof payload['actor'] === 'string' ? payload['actor'] : undefined;
  return {
    id: payload.jti as string,
    target: readTarget(event, issuedAt),
    issuedAt,
    signedBy: kid,
    actor,
    reason,
  };
}

function translateJoseError(error: unknown): EventRejectedError {
  const code = (error as { code?: unknown }).code;
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_JWKS_NO_MATCHING_KEY') return new EventRejectedError('untrusted_key', 'signed by a key that is not a trusted responder');
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return new EventRejectedError('invalid_signature', 'signature does not verify');
  return new EventRejectedError('malformed', detail);
}

function readSingleEvent(payload: JWTPayload): Record<string, unknown> {
  const events = payload['events'];
  if (!isRecord(events)) throw new EventRejectedError('malformed', '"events" must be an object');
  const types = Object.keys(events);
  if (types.length !== 1) throw new EventRejectedError('malformed', `"events" must hold exactly one event, found ${types.length}`);
  if (types[0] !== SESSION_REVOKED) throw new EventRejectedError('unknown_event_type', `event type ${types[0]} is not supported`);
  const event = events[SESSION_REVOKED];
  if (!isRecord(event)) throw new EventRejectedError('malformed', 'the event must be an object');
  return event;
}

/** Each subject format and the exact members it has; unknown members make the subject invalid. */
const SUBJECT_MEMBERS: Record<string, readonly string[]> = {
  jwt_id: ['format', 'iss', 'jti'],
  revgate_token_hash: ['format', 'iss', 'sha256'],
  iss_sub: ['format', 'iss', 'sub'],
};

function readTarget(event: Record<string, unknown>, issuedAt: number): RevocationTarget {
  const subject = event['subject'];
  if (!isRecord(subject)) throw new EventRejectedError('invalid_subject', 'event has no subject object');

  const format = subject['format'];
  const members = typeof format === 'string' && Object.hasOwn(SUBJECT_MEMBERS, format) ? SUBJECT_MEMBERS[format] : undefined;
  if (!members) throw new EventRejectedError('invalid_subject', `subject format ${String(format)} is not supported`);
  const keys = Object.keys(subject);
  if (keys.length !== members.length || !keys.every((key) => members.includes(key))) {
    throw new EventRejectedError('invalid_subject', `subject of format ${String(format)} must have exactly the members ${members.join(', ')}`);
  }
  for (const key of members) {
    if (typeof subject[key] !== 'string' || subject[key] === '') {
      throw new EventRejectedError('invalid_subject', `subject member ${key} must be a non-empty string`);
    }
  }

  const iss = subject['iss'] as string;
  const timestamp = event['event_timestamp'] ?? issuedAt;
  if (!isNumericDate(timestamp)) throw new EventRejectedError('malformed', 'event_timestamp must be a finite number of seconds');
  if (format === 'iss_sub') {
    // A revocation covers tokens already issued; a T after the event itself would reach into the future.
    if (timestamp > issuedAt + 60) throw new EventRejectedError('malformed', 'event_timestamp must not be later than the event');
    return { kind: 'subject', iss, sub: subject['sub'] as string, before: timestamp };
  }

  const expiresAt = event['token_expires_at'];
  if (expiresAt !== undefined && !isNumericDate(expiresAt)) {
    throw new EventRejectedError('malformed', 'token_expires_at must be a finite number of seconds');
  }
  const optional = expiresAt === undefined ? {} : { expiresAt };
  if (format === 'jwt_id') return { kind: 'token', iss, jti: subject['jti'] as string, ...optional };
  if (!/^[A-Za-z0-9_-]{43}$/.test(subject['sha256'] as string)) {
    throw new EventRejectedError('invalid_subject', 'sha256 must be an unpadded base64url SHA-256 digest');
  }
  return { kind: 'token', iss, sha256: subject['sha256'] as string, ...optional };
}

function readReason(value: unknown): string {
  if (!isRecord(value)) return '';
  const text = value['en'] ?? Object.values(value)[0];
  return typeof text === 'string' ? text : '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
