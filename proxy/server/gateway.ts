/**
 * The running proxy: builds every component from a loaded config, starts the two listeners and the
 * revocation replica, and closes them in order. `revgate serve` and the tests both start it here.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

import { Registry } from 'prom-client';

import { IssuerRegistry } from '../auth/issuers.js';
import { TokenVerifier } from '../auth/verify.js';
import type { LoadedConfig } from '../config/load.js';
import type { Config, ListenAddress } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Denylist, type BoundsLookup } from '../revocation/denylist.js';
import { RevocationReplica } from '../revocation/replica.js';
import { loadTrustedResponders } from '../revocation/responder-keys.js';
import { RouteTable } from '../routes/route-table.js';
import { createUpstreamPool } from '../upstream/pool.js';
import { VERSION } from '../version.js';
import { createAdminServer } from './admin.js';
import { RequestPipeline } from './pipeline.js';
import { createProxyServer } from './proxy-server.js';

export interface GatewayOptions {
  logger: Logger;
  /** Current time in milliseconds; tests pass a controllable clock. */
  now?: () => number;
}

export interface Gateway {
  /** Base URL of the client listener, such as http://127.0.0.1:8080. */
  readonly proxyUrl: string;
  /** Base URL of the admin listener. */
  readonly adminUrl: string;
  readonly replica: RevocationReplica;
  readonly denylist: Denylist;
  close(): Promise<void>;
}

/** Builds and starts the proxy; rejects when keys cannot be read or a port cannot be bound. */
export async function startGateway(loaded: LoadedConfig, options: GatewayOptions): Promise<Gateway> {
  const { config } = loaded;
  const { logger } = options;
  const now = options.now ?? Date.now;

  const issuers = await IssuerRegistry.load(config.issuers);
  const responderKeys = await loadTrustedResponders(config.revocation.trustedResponders.file);
  const metrics = new Metrics(new Registry(), VERSION);
  const denylist = new Denylist(issuerBounds(config), now);
  const replica = new RevocationReplica({
    config: config.revocation,
    denylist,
    responderKeys,
    logger: logger.child({ component: 'replica' }),
    metrics,
    now,
  });
  metrics.observeReplica(replica);

  const upstream = createUpstreamPool(config.upstream);
  const pipeline = new RequestPipeline({
    config,
    routes: new RouteTable(config.routes, config.revocation.maxStaleness),
    verifier: new TokenVerifier(issuers, { now }),
    denylist,
    freshness: replica,
    upstream,
    logger: logger.child({ component: 'access' }),
    metrics,
  });

  const proxyServer = createProxyServer(config.server, pipeline, logger.child({ component: 'listener' }));
  const adminServer = createAdminServer({ metrics, replica, revocation: config.revocation, configDigest: loaded.digest });
  const proxyUrl = await listen(proxyServer, config.listen);
  const adminUrl = await listen(adminServer, config.admin).catch(async (error: unknown) => {
    await closeServer(proxyServer);
    throw error;
  });
  await replica.start();
  logger.info({ listen: proxyUrl, admin: adminUrl, upstream: config.upstream.url, version: VERSION }, 'revgate started');

  return {
    proxyUrl,
    adminUrl,
    replica,
    denylist,
    async close() {
      await Promise.all([closeServer(proxyServer), closeServer(adminServer)]);
      await replica.close();
      await upstream.close();
      logger.info('revgate stopped');
    },
  };
}

/** Returns a lookup of each issuer's lifetime bounds; an unknown issuer gets the largest configured bounds. */
function issuerBounds(config: Config): BoundsLookup {
  const bounds = new Map(
    config.issuers.map((issuer) => [issuer.issuer, { maxLifetime: issuer.maxTokenLifetime / 1000, tolerance: issuer.clockTolerance / 1000 }]),
  );
  const largest = {
    maxLifetime: Math.max(...[...bounds.values()].map((bound) => bound.maxLifetime)),
    tolerance: Math.max(...[...bounds.values()].map((bound) => bound.tolerance)),
  };
  return (iss) => bounds.get(iss) ?? largest;
}

function listen(server: http.Server, address: ListenAddress): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve(`http://${host}:${bound.port}`);
    });
  });
}

/** Connections still open this long after close() are cut, so that a stuck client cannot block shutdown. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Stops accepting connections and resolves once in-flight requests have finished (or the drain timeout cut them). */
function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS).unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
