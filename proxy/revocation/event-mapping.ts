/**
 * Mapping between revocation targets and the `events` claim of a Security Event Token.
 *
 * Events that revgate publishes use the CAEP `session-revoked` event type with RFC 9493 subject
 * identifiers where one fits (`jwt_id`, `iss_sub`) and formats of this project where none does
 * (`revgate_token_hash`, `revgate_session`, `revgate_client`, `revgate_signing_key`,
 * `revgate_issuer`). Minimum token versions and lifts have event types of their own.
 *
 * Events relayed from identity providers are mapped onto the same targets (docs/revocation.md has
 * the table): CAEP `session-revoked` and `credential-change`, RISC `account-disabled`,
 * `account-purged` and `credential-compromise`. T is the event's `event_timestamp`, else the SET's
 * `iat`. A subject identifier with a member this code does not know is rejected whole, as the
 * Shared Signals Framework requires of receivers.
 */
import { EventRejectedError } from './event-errors.js';
import type { RevocationTarget } from './target.js';

export const CAEP_SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
export const CAEP_CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
export const RISC_ACCOUNT_DISABLED = 'https://schemas.openid.net/secevent/risc/event-type/account-disabled';
export const RISC_ACCOUNT_PURGED = 'https://schemas.openid.net/secevent/risc/event-type/account-purged';
export const RISC_CREDENTIAL_COMPROMISE = 'https://schemas.openid.net/secevent/risc/event-type/credential-compromise';
export const MIN_TOKEN_VERSION = 'urn:revgate:event-type:min-token-version';
export const REVOCATION_LIFTED = 'urn:revgate:event-type:revocation-lifted';

/** Action an event requests of the replica. */
export type RevocationCommand =
  | { action: 'revoke'; target: RevocationTarget }
  | { action: 'lift'; revocationId: string }
  | { action: 'ignore'; detail: string };

type Members = Record<string, unknown>;

// --- Encoding: what `revgate revoke` and `revgate lift` publish -------------------------------

/** Builds the `events` claim that revokes a target at `issuedAt` (seconds). */
export function encodeRevocation(target: RevocationTarget, reason: string, issuedAt: number): Members {
  const common = { initiating_entity: 'admin', reason_admin: { en: reason } };
  if (target.kind === 'version') {
    const event = { subject: { format: 'iss_sub', iss: target.iss, sub: target.sub }, min_version: target.minVersion, event_timestamp: issuedAt, ...common };
    return { [MIN_TOKEN_VERSION]: event };
  }

  const event: Members = { subject: subjectIdentifier(target), event_timestamp: issuedAt, ...common };
  if ('before' in target && target.before !== undefined) event['event_timestamp'] = target.before;
  if ((target.kind === 'subject' || target.kind === 'session' || target.kind === 'client') && target.before === undefined) {
    event['until_lifted'] = true;
  }
  if (target.kind === 'token' && target.expiresAt !== undefined) event['token_expires_at'] = target.expiresAt;
  return { [CAEP_SESSION_REVOKED]: event };
}

/** Builds the `events` claim that lifts the revocation with this id. */
export function encodeLift(revocationId: string, reason: string, issuedAt: number): Members {
  return { [REVOCATION_LIFTED]: { revocation_id: revocationId, event_timestamp: issuedAt, reason_admin: { en: reason } } };
}

function subjectIdentifier(target: Exclude<RevocationTarget, { kind: 'version' }>): Record<string, string> {
  switch (target.kind) {
    case 'token':
      return 'jti' in target ? { format: 'jwt_id', iss: target.iss, jti: target.jti } : { format: 'revgate_token_hash', iss: target.iss, sha256: target.sha256 };
    case 'subject':
      return { format: 'iss_sub', iss: target.iss, sub: target.sub };
    case 'session':
      return { format: 'revgate_session', iss: target.iss, sid: target.sid };
    case 'client':
      return { format: 'revgate_client', iss: target.iss, client_id: target.clientId };
    case 'key':
      return { format: 'revgate_signing_key', iss: target.iss, kid: target.kid };
    case 'issuer':
      return { format: 'revgate_issuer', iss: target.iss };
  }
}

// --- Decoding: events read from the stream ----------------------------------------------------

/** True when the `events` claim contains a lift, which only keys trusted for lifts may sign. */
export function isLiftEvent(events: unknown): boolean {
  return isRecord(events) && Object.hasOwn(events, REVOCATION_LIFTED);
}

/** Maps the `events` claim of a verified SET to a command; `issuedAt` is the SET's `iat`. */
export function decodeEvents(events: unknown, issuedAt: number): RevocationCommand {
  if (!isRecord(events)) throw new EventRejectedError('malformed', '"events" must be an object');
  const types = Object.keys(events);
  if (types.length !== 1) throw new EventRejectedError('malformed', `"events" must hold exactly one event, found ${types.length}`);
  const type = types[0]!;
  const event = events[type];
  if (!isRecord(event)) throw new EventRejectedError('malformed', 'the event must be an object');
  const decode = DECODERS.get(type);
  if (!decode) throw new EventRejectedError('unknown_event_type', `event type ${type} is not supported`);
  return decode(event, eventTime(event, issuedAt), issuedAt);
}

type Decoder = (event: Members, time: number, issuedAt: number) => RevocationCommand;

const DECODERS = new Map<string, Decoder>([
  [CAEP_SESSION_REVOKED, decodeSessionRevoked],
  [CAEP_CREDENTIAL_CHANGE, decodeCredentialChange],
  [RISC_ACCOUNT_DISABLED, (event) => revoke({ ...userSubject(event), kind: 'subject' })],
  [RISC_ACCOUNT_PURGED, (event) => revoke({ ...userSubject(event), kind: 'subject' })],
  [RISC_CREDENTIAL_COMPROMISE, (event, time) => revoke({ ...userSubject(event), kind: 'subject', before: time })],
  [MIN_TOKEN_VERSION, decodeMinTokenVersion],
  [REVOCATION_LIFTED, decodeLift],
]);

const revoke = (target: RevocationTarget): RevocationCommand => ({ action: 'revoke', target });

function decodeSessionRevoked(event: Members, time: number, issuedAt: number): RevocationCommand {
  const subject = readSubject(event['subject']);
  const untilLifted = event['until_lifted'] === true;
  const before = untilLifted ? undefined : time;

  switch (subject.format) {
    case 'jwt_id':
    case 'revgate_token_hash': {
      const expiresAt = event['token_expires_at'];
      if (expiresAt !== undefined && !isNumericDate(expiresAt)) throw new EventRejectedError('malformed', 'token_expires_at must be a time in seconds');
      const optional = expiresAt === undefined ? {} : { expiresAt };
      if (subject.format === 'jwt_id') return revoke({ kind: 'token', iss: subject.iss, jti: subject.value, ...optional });
      if (!/^[A-Za-z0-9_-]{43}$/.test(subject.value)) throw new EventRejectedError('invalid_subject', 'sha256 must be an unpadded base64url SHA-256 digest');
      return revoke({ kind: 'token', iss: subject.iss, sha256: subject.value, ...optional });
    }
    case 'iss_sub':
      return revoke(withBefore({ kind: 'subject', iss: subject.iss, sub: subject.value }, before));
    case 'revgate_session':
      return revoke(withBefore({ kind: 'session', iss: subject.iss, sid: subject.value }, before));
    case 'revgate_client':
      return revoke(withBefore({ kind: 'client', iss: subject.iss, clientId: subject.value }, before));
    case 'revgate_signing_key':
      return revoke({ kind: 'key', iss: subject.iss, kid: subject.value });
    case 'revgate_issuer':
      if (untilLifted) throw new EventRejectedError('malformed', 'an issuer-wide revocation needs a time; until_lifted is not allowed');
      return revoke({ kind: 'issuer', iss: subject.iss, before: time });
  }
}

function withBefore<T extends RevocationTarget>(target: T, before: number | undefined): T {
  return before === undefined ? target : { ...target, before };
}

/** CAEP credential-change: a revoked, changed or deleted credential invalidates tokens issued before T. */
function decodeCredentialChange(event: Members, time: number): RevocationCommand {
  const changeType = event['change_type'];
  if (changeType === 'create') return { action: 'ignore', detail: 'a created credential revokes nothing' };
  if (changeType !== 'revoke' && changeType !== 'update' && changeType !== 'delete') {
    throw new EventRejectedError('malformed', 'change_type must be create, revoke, update or delete');
  }
  return revoke({ ...userSubject(event), kind: 'subject', before: time });
}

function decodeMinTokenVersion(event: Members): RevocationCommand {
  const { iss, sub } = userSubject(event);
  const minVersion = event['min_version'];
  if (!Number.isSafeInteger(minVersion) || (minVersion as number) < 1) throw new EventRejectedError('malformed', 'min_version must be a positive integer');
  return revoke({ kind: 'version', iss, sub, minVersion: minVersion as number });
}

function decodeLift(event: Members): RevocationCommand {
  const revocationId = event['revocation_id'];
  if (typeof revocationId !== 'string' || revocationId === '') throw new EventRejectedError('malformed', 'revocation_id must be a non-empty string');
  return { action: 'lift', revocationId };
}

/** Reads a user subject: `iss_sub`, or a `complex` subject with a `user` member in that format. */
function userSubject(event: Members): { iss: string; sub: string } {
  const subject = readSubject(event['subject']);
  if (subject.format !== 'iss_sub') throw new EventRejectedError('invalid_subject', `this event type needs an iss_sub user subject, not ${subject.format}`);
  return { iss: subject.iss, sub: subject.value };
}

/** Each simple subject format, its members in order, and the member that contains the selector value. */
const SUBJECT_FORMATS: ReadonlyMap<string, { members: readonly string[]; value: string }> = new Map([
  ['jwt_id', { members: ['format', 'iss', 'jti'], value: 'jti' }],
  ['revgate_token_hash', { members: ['format', 'iss', 'sha256'], value: 'sha256' }],
  ['iss_sub', { members: ['format', 'iss', 'sub'], value: 'sub' }],
  ['revgate_session', { members: ['format', 'iss', 'sid'], value: 'sid' }],
  ['revgate_client', { members: ['format', 'iss', 'client_id'], value: 'client_id' }],
  ['revgate_signing_key', { members: ['format', 'iss', 'kid'], value: 'kid' }],
  ['revgate_issuer', { members: ['format', 'iss'], value: 'iss' }],
]);

type SubjectFormat = 'jwt_id' | 'revgate_token_hash' | 'iss_sub' | 'revgate_session' | 'revgate_client' | 'revgate_signing_key' | 'revgate_issuer';

interface Subject {
  format: SubjectFormat;
  iss: string;
  value: string;
}

/**
 * Reads a subject identifier. A CAEP `complex` subject may carry `user` (an `iss_sub`) and
 * `session` (an `opaque` id, the token's `sid`); any other member rejects the event.
 */
function readSubject(value: unknown): Subject {
  if (!isRecord(value)) throw new EventRejectedError('invalid_subject', 'event has no subject object');
  if (value['format'] === 'complex') return readComplexSubject(value);

  const format = value['format'];
  const spec = typeof format === 'string' ? SUBJECT_FORMATS.get(format) : undefined;
  if (!spec) throw new EventRejectedError('invalid_subject', `subject format ${String(format)} is not supported`);
  requireExactMembers(value, spec.members, String(format));
  return { format: format as SubjectFormat, iss: value['iss'] as string, value: value[spec.value] as string };
}

function readComplexSubject(value: Members): Subject {
  const unknown = Object.keys(value).filter((key) => !['format', 'user', 'session'].includes(key));
  if (unknown.length > 0) throw new EventRejectedError('invalid_subject', `complex subject has unknown members: ${unknown.join(', ')}`);
  const user = readSubject(value['user']);
  if (user.format !== 'iss_sub') throw new EventRejectedError('invalid_subject', 'complex subject user must be in iss_sub format');
  if (value['session'] === undefined) return user;

  const session = value['session'];
  if (!isRecord(session) || session['format'] !== 'opaque') throw new EventRejectedError('invalid_subject', 'complex subject session must be in opaque format');
  requireExactMembers(session, ['format', 'id'], 'opaque');
  return { format: 'revgate_session', iss: user.iss, value: session['id'] as string };
}

function requireExactMembers(subject: Members, members: readonly string[], format: string): void {
  const keys = Object.keys(subject);
  if (keys.length !== members.length || !keys.every((key) => members.includes(key))) {
    throw new EventRejectedError('invalid_subject', `subject of format ${format} must have exactly the members ${members.join(', ')}`);
  }
  for (const key of members) {
    if (typeof subject[key] !== 'string' || subject[key] === '') {
      throw new EventRejectedError('invalid_subject', `subject member ${key} must be a non-empty string`);
    }
  }
}

function eventTime(event: Members, issuedAt: number): number {
  const time = event['event_timestamp'] ?? issuedAt;
  if (!isNumericDate(time)) throw new EventRejectedError('malformed', 'event_timestamp must be a finite number of seconds');
  // A revocation covers tokens already issued; a T after the event itself would reach into the future.
  if (time > issuedAt + 60) throw new EventRejectedError('malformed', 'event_timestamp must not be later than the event');
  return time;
}

/** Reads the reason: CAEP `reason_admin` (English first), else a RISC `reason` string. */
export function readReason(event: unknown): string {
  if (!isRecord(event)) return '';
  const admin = event['reason_admin'];
  if (isRecord(admin)) {
    const text = admin['en'] ?? Object.values(admin)[0];
    if (typeof text === 'string') return text;
  }
  return typeof event['reason'] === 'string' ? event['reason'] : '';
}

export function isRecord(value: unknown): value is Members {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
