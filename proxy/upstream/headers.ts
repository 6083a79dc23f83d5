/**
 * Header hygiene between client, proxy and upstream.
 *
 * Hop-by-hop headers (RFC 9110 section 7.6.1) and every header that `Connection` names apply to
 * one connection only and are removed in both directions. On the way upstream the proxy also
 * removes every client copy of the identity headers, of `X-Forwarded-*` and of the rewrite and
 * client-address headers below, comparing names without regard to case and with `_` equal to `-`,
 * because some servers treat `X_Auth_Subject` as `X-Auth-Subject`. An Authorization header passes
 * only when the proxy verified the bearer token in it. Then the proxy adds the headers it vouches for.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

import { forwardedHeaders } from './forwarded.js';
import type { TrustedProxies } from './trusted-proxies.js';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/**
 * Request headers the proxy sets itself or must not pass on: `host` comes from the upstream URL,
 * and undici rejects `expect` (the proxy sends `100 Continue` to the client itself, just before it
 * forwards the request).
 */
const REPLACED_REQUEST_HEADERS = new Set(['host', 'expect', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/**
 * Client headers that frameworks behind a proxy commonly trust to rewrite the path or method, or
 * to name the user or client address. The proxy decided its policy on the request line and the
 * verified token, so an upstream must never act on these.
 */
const UNTRUSTED_REQUEST_HEADERS = new Set([
  'x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-http-method-override', 'x-http-method', 'x-method-override',
  'x-remote-user', 'remote-user', 'x-remote-addr', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'client-ip',
]);

/** Normalizes a header name for comparison: lower case, with `_` read as `-`. */
export function normalizeHeaderName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

/** Returns the normalized names listed in `Connection` header values. */
export function connectionListed(values: readonly string[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const value of values ?? []) {
    for (const name of value.split(',')) {
      const trimmed = name.trim();
      if (trimmed !== '') names.add(normalizeHeaderName(trimmed));
    }
  }
  return names;
}

export interface ForwardedIdentity {
  /** Header name and value pairs, already checked for safe characters. */
  headers: readonly (readonly [string, string])[];
  /** Whether the Authorization header carried a token that the proxy verified; otherwise it is removed. */
  authorizationVerified: boolean;
}

/**
 * Builds the upstream request headers as a flat name/value list (keeping repeated headers), from
 * the client's raw headers minus everything removed above, plus `X-Forwarded-*` and the identity.
 */
export function buildUpstreamHeaders(
  request: IncomingMessage,
  identityHeaderNames: ReadonlySet<string>,
  identity: ForwardedIdentity,
  trustedProxies: TrustedProxies,
): string[] {
  const listed = connectionListed(request.headersDistinct['connection']);
  const output: string[] = [];
  const raw = request.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index] ?? '';
    const lower = name.toLowerCase();
    const normalized = normalizeHeaderName(name);
    if (HOP_BY_HOP.has(lower) || REPLACED_REQUEST_HEADERS.has(normalized) || listed.has(normalized)) continue;
    if (identityHeaderNames.has(normalized) || normalized.startsWith('x-forwarded-') || UNTRUSTED_REQUEST_HEADERS.has(normalized)) continue;
    if (lower === 'authorization' && !identity.authorizationVerified) continue;
    output.push(name, raw[index + 1] ?? '');
  }

  for (const [name, value] of forwardedHeaders(request, trustedProxies)) output.push(name, value);
  for (const [name, value] of identity.headers) output.push(name, value);
  return output;
}

/** Copies upstream response headers for the client, without hop-by-hop and `Connection`-listed ones. */
export function buildClientHeaders(upstreamHeaders: IncomingHttpHeaders): IncomingHttpHeaders {
  const connection = upstreamHeaders['connection'];
  const listed = connectionListed(connection === undefined ? undefined : [connection].flat());
  const output: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstreamHeaders)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || listed.has(normalizeHeaderName(name))) continue;
    output[lower] = value;
  }
  return output;
}
