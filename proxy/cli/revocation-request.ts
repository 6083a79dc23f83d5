/**
 * A revocation request as a responder writes it, on the command line or as one line of a bulk
 * file, and its translation into a RevocationTarget. Both paths share this code so that a bulk
 * line and the equivalent command revoke exactly the same thing.
 */
import { createHash } from 'node:crypto';

import { decodeJwt } from 'jose';
import { z } from 'zod';

import { RevgateError } from '../errors.js';
import type { RevocationTarget } from '../revocation/target.js';
import { parseTime } from './common.js';

/** Revocations may not reach into the future beyond this skew, in seconds. */
const FUTURE_SKEW_SECONDS = 60;

const text = z.string().trim().min(1, { message: 'must not be empty' });
const time = z.union([z.string().min(1), z.number().int().nonnegative()]);

/** One revocation request; `kind` selects the fields. Times are `now`, Unix seconds or ISO 8601. */
export const revocationRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('token'), token: text, reason: text.optional() }).strict(),
  z.object({ kind: z.literal('jti'), issuer: text, jti: text, expiresAt: time.optional(), reason: text.optional() }).strict(),
  z.object({ kind: z.literal('subject'), issuer: text, sub: text, before: time.optional(), untilLifted: z.boolean().optional(), reason: text.optional() }).strict(),
  z.object({ kind: z.literal('session'), issuer: text, sid: text, before: time.optional(), untilLifted: z.boolean().optional(), reason: text.optional() }).strict(),
  z.object({ kind: z.literal('client'), issuer: text, clientId: text, before: time.optional(), untilLifted: z.boolean().optional(), reason: text.optional() }).strict(),
  z.object({ kind: z.literal('key'), issuer: text, kid: text, reason: text.optional() }).strict(),
  z.object({ kind: z.literal('issuer'), issuer: text, before: time.optional(), reason: text.optional() }).strict(),
  z.object({ kind: z.literal('version'), issuer: text, sub: text, minVersion: z.number().int().positive(), reason: text.optional() }).strict(),
]);

export type RevocationRequest = z.infer<typeof revocationRequestSchema>;

/** Turns a request into a target; `now` is in seconds. Throws ERR_USAGE naming the field. */
export function targetOf(request: RevocationRequest, now = Math.floor(Date.now() / 1000)): RevocationTarget {
  switch (request.kind) {
    case 'token':
      return targetFromToken(request.token);
    case 'jti': {
      const expiresAt = request.expiresAt === undefined ? undefined : readTime(request.expiresAt, 'expiresAt', now);
      return { kind: 'token', iss: request.issuer, jti: request.jti, ...(expiresAt === undefined ? {} : { expiresAt }) };
    }
    case 'subject':
      return { kind: 'subject', iss: request.issuer, sub: request.sub, ...beforeOf(request, now) };
    case 'session':
      return { kind: 'session', iss: request.issuer, sid: request.sid, ...beforeOf(request, now) };
    case 'client':
      return { kind: 'client', iss: request.issuer, clientId: request.clientId, ...beforeOf(request, now) };
    case 'key':
      return { kind: 'key', iss: request.issuer, kid: request.kid };
    case 'issuer':
      return { kind: 'issuer', iss: request.issuer, before: pastTime(request.before ?? 'now', 'before', now) };
    case 'version':
      return { kind: 'version', iss: request.issuer, sub: request.sub, minVersion: request.minVersion };
  }
}

function beforeOf(request: { before?: string | number | undefined; untilLifted?: boolean | undefined }, now: number): { before?: number } {
  if (request.untilLifted) {
    if (request.before !== undefined) throw new RevgateError('ERR_USAGE', 'before and untilLifted: give one of them, not both');
    return {};
  }
  return { before: pastTime(request.before ?? 'now', 'before', now) };
}

function readTime(value: string | number, field: string, now: number): number {
  if (typeof value === 'number') return value;
  return value === 'now' ? now : parseTime(value, field);
}

/** A revocation covers tokens already issued, so its time may not lie in the future. */
function pastTime(value: string | number, field: string, now: number): number {
  const seconds = readTime(value, field, now);
  if (seconds > now + FUTURE_SKEW_SECONDS) {
    throw new RevgateError('ERR_USAGE', `${field} "${value}": is in the future; a revocation covers tokens already issued`);
  }
  return seconds;
}

/** Builds the target from an unverified token: by jti when it has one, else by the hash of its signing input. */
export function targetFromToken(token: string): RevocationTarget {
  let claims;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new RevgateError('ERR_USAGE', 'token: cannot be decoded as a JWT');
  }
  if (typeof claims.iss !== 'string' || claims.iss === '') throw new RevgateError('ERR_USAGE', 'token: has no iss claim, so no proxy could match it');
  const expiresAt = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? { expiresAt: claims.exp } : {};
  if (typeof claims.jti === 'string' && claims.jti !== '') return { kind: 'token', iss: claims.iss, jti: claims.jti, ...expiresAt };

  const signingInput = token.slice(0, token.lastIndexOf('.'));
  return { kind: 'token', iss: claims.iss, sha256: createHash('sha256').update(signingInput).digest('base64url'), ...expiresAt };
}
