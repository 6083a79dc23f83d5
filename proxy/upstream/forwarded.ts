/**
 * The `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` headers sent upstream.
 *
 * The client's copies are replaced by what the proxy saw, because any client can write them. When
 * the peer is a trusted proxy, the proxy extends its chain instead: the peer address is appended
 * to its `X-Forwarded-For`, and its `X-Forwarded-Proto` and `X-Forwarded-Host` are kept when there
 * is exactly one well-formed value of each.
 */
import type { IncomingMessage } from 'node:http';

import type { TrustedProxies } from './trusted-proxies.js';

const PROTOCOLS = new Set(['http', 'https']);

/** A host name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const FORWARDED_HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export function forwardedHeaders(request: IncomingMessage, trusted: TrustedProxies): [string, string][] {
  const peer = request.socket.remoteAddress ?? '';
  const ownHost = request.headers.host;

  if (!trusted.includes(request.socket.remoteAddress)) {
    const headers: [string, string][] = [['x-forwarded-for', peer], ['x-forwarded-proto', 'http']];
    if (ownHost !== undefined) headers.push(['x-forwarded-host', ownHost]);
    return headers;
  }

  const chain = (request.headersDistinct['x-forwarded-for'] ?? []).filter((value) => value.trim() !== '');
  const proto = singleValue(request, 'x-forwarded-proto')?.toLowerCase();
  const host = singleValue(request, 'x-forwarded-host');
  const headers: [string, string][] = [
    ['x-forwarded-for', [...chain, peer].join(', ')],
    ['x-forwarded-proto', proto !== undefined && PROTOCOLS.has(proto) ? proto : 'http'],
  ];
  const forwardedHost = host !== undefined && FORWARDED_HOST.test(host) ? host : ownHost;
  if (forwardedHost !== undefined) headers.push(['x-forwarded-host', forwardedHost]);
  return headers;
}

function singleValue(request: IncomingMessage, name: string): string | undefined {
  const values = request.headersDistinct[name];
  return values?.length === 1 ? values[0] : undefined;
}
