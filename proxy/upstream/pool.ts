/**
 * The upstream connection pool: one undici Pool per proxy, with keep-alive, so that requests reuse
 * connections to the single upstream. undici never follows redirects unless asked, so a 3xx from
 * the upstream goes back to the client as it is.
 */
import { Pool } from 'undici';

import type { Config } from '../config/schema.js';

export function createUpstreamPool(upstream: Config['upstream']): Pool {
  return new Pool(new URL(upstream.url).origin, {
    connections: upstream.connections,
    keepAliveTimeout: upstream.keepAliveTimeout,
    headersTimeout: upstream.headersTimeout,
    bodyTimeout: upstream.bodyTimeout,
    connect: { timeout: upstream.connectTimeout },
  });
}
