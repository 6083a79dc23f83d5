/**
 * Extracting the bearer token (RFC 6750 section 2.1). Only the Authorization header carries a
 * token. A token in the query string is rejected rather than ignored, because it leaks into logs,
 * and several Authorization headers are rejected because proxy and upstream could each pick a
 * different one.
 */
import type { IncomingMessage } from 'node:http';

import { Rejection } from '../errors.js';

/** "Bearer" (any letter case), one or more spaces, then a b64token (RFC 6750 section 2.1). */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** Headers longer than this are rejected before any parsing, whatever the spacing inside. */
const HEADER_SLACK = 64;

/**
 * Returns the bearer token, or undefined when the request carries no bearer credentials at all
 * (no Authorization header, or another scheme such as Basic). Throws a Rejection for malformed or
 * ambiguous credentials.
 */
export function extractBearerToken(request: IncomingMessage, query: string, maxTokenBytes: number): string | undefined {
  if (hasQueryToken(query)) throw new Rejection('token_in_query');

  const values = request.headersDistinct['authorization'];
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw new Rejection('duplicate_authorization');

  const value = values[0] ?? '';
  if (!/^bearer(?:\s|$)/i.test(value)) return undefined;
  if (value.length > maxTokenBytes + HEADER_SLACK) throw new Rejection('token_too_large');

  const match = BEARER.exec(value);
  if (!match?.[1]) throw new Rejection('malformed_token');
  if (match[1].length > maxTokenBytes) throw new Rejection('token_too_large');
  return match[1];
}

/**
 * True when the query has an `access_token` parameter (RFC 6750 section 2.3), compared after
 * percent-decoding and without regard to case, as upstream frameworks would read it.
 */
function hasQueryToken(query: string): boolean {
  if (query.length <= 1) return false;
  for (const key of new URLSearchParams(query.slice(1)).keys()) {
    if (frameworkParameterName(key) === 'access_token') return true;
  }
  return false;
}

/**
 * Returns the parameter name that PHP-style frameworks derive from a query key: lower case,
 * leading spaces dropped, an array suffix such as `[]` or `[0]` removed, and spaces, dots and
 * an unmatched `[` read as `_`. So `access.token` and `access_token[]` both name `access_token`.
 * NOTE: frameworks differ in these rules. These are PHP's, and they include the bracket forms
 * that Rails and the qs parser of Express read as arrays.
 */
function frameworkParameterName(key: string): string {
  return key.toLowerCase().trimStart().replace(/\[[^\]]*\].*$/, '').replace(/[ .[]/g, '_');
}
