/**
 * Strict syntax of a compact JWS (RFC 7515 section 7.1), checked before any key lookup or
 * signature check. jose 6 decodes base64url leniently, because it accepts `=` padding and non-zero
 * unused bits. Several strings then verify as the same token, and each would be a separate cache
 * entry that an upstream JWT library may read differently. The proxy accepts only the one
 * canonical spelling, and only JSON that every parser reads the same way.
 */
import { Rejection } from '../errors.js';
import { findDuplicateMember } from './json-duplicates.js';

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Header parameters that change how the payload is read, which the proxy does not implement. `zip`
 * is a JWE parameter (RFC 7516). `b64` selects an unencoded payload, which RFC 7797 forbids in
 * JWTs. jose ignores both unless `crit` lists them.
 */
const UNSUPPORTED_HEADER_PARAMETERS = ['zip', 'b64'];

/** Keeps a leading byte order mark in the text, so that JSON.parse rejects it instead of skipping it. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes the header and payload of a compact JWS without verifying it, or throws
 * Rejection('malformed_token'). Accepts three segments in the canonical base64url alphabet without
 * padding and with zero unused bits, whose header and payload are UTF-8 JSON objects with no
 * repeated member name at any depth. The signature segment may be empty, so that `alg: none`
 * reaches the algorithm check and is reported as such.
 */
export function decodeCompactJws(token: string): DecodedJws {
  const segments = token.split('.');
  if (segments.length !== 3) throw new Rejection('malformed_token');
  const [headerSegment = '', payloadSegment = ''] = segments;
  if (!segments.every(isCanonicalBase64url)) throw new Rejection('malformed_token');

  const header = decodeJsonObject(headerSegment);
  const payload = decodeJsonObject(payloadSegment);
  if (UNSUPPORTED_HEADER_PARAMETERS.some((name) => Object.hasOwn(header, name))) throw new Rejection('malformed_token');
  return { header, payload };
}

/** True when the segment is the one base64url spelling of its bytes (RFC 7515 section 2, RFC 4648 section 3.5). */
export function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) return false;
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

function decodeJsonObject(segment: string): Record<string, unknown> {
  let text: string;
  let value: unknown;
  try {
    text = UTF8.decode(Buffer.from(segment, 'base64url'));
    value = JSON.parse(text);
  } catch {
    throw new Rejection('malformed_token');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Rejection('malformed_token');
  if (findDuplicateMember(text) !== undefined) throw new Rejection('malformed_token');
  return value as Record<string, unknown>;
}
