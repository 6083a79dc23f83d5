/**
 * Verified identity forwarded to the upstream as request headers, one per configured claim.
 * Strings pass as they are, numbers and booleans as text, and arrays of strings joined by spaces
 * (the form of OAuth `scope`). Objects, empty values and missing claims produce no header. A value that would put
 * a control character (CR, LF, NUL and the rest) into a header rejects the token instead, so a
 * claim can never inject a header or split a request. So does a lone UTF-16 surrogate, which has no
 * UTF-8 form: it would reach the upstream as U+FFFD, and two different claims could then look alike.
 */
import type { JWTPayload } from 'jose';

import { Rejection } from '../errors.js';

const CONTROL_CHARACTERS = /[\x00-\x08\x0a-\x1f\x7f]/;
const LONE_SURROGATE = /\p{Cs}/u;

export function identityHeaders(mapping: Readonly<Record<string, string>>, claims: JWTPayload): [string, string][] {
  const headers: [string, string][] = [];
  for (const [claim, header] of Object.entries(mapping)) {
    const value = headerValue(claims[claim]);
    if (value === undefined || value === '') continue;
    if (CONTROL_CHARACTERS.test(value) || LONE_SURROGATE.test(value)) throw new Rejection('invalid_claim_value');
    // HTTP carries header bytes; UTF-8 text is sent as its bytes, which undici takes as latin1.
    headers.push([header, Buffer.from(value, 'utf8').toString('latin1')]);
  }
  return headers;
}

function headerValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(' ');
  return undefined;
}
