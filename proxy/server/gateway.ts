/**
 * The running proxy: builds every component from a loaded config, starts the two listeners and the
 * revocation replica, reloads the request policy on demand, and shuts down in order.
 * `revgate serve` and the tests both start it here.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

import { Registry } from 'prom-client';

import type { LoadedConfig } from '../config/load.js';
import type { ListenAddress } from '../config/schema.js';
import { componentLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Denylist } from '../revocation/denylist.js';
import { RevocationReplica } from '../revocation/replica.js';
import { createUpstreamPool } from '../upstream/pool.js';
import { VERSION } from '../version.js';
import { createAdminServer } from './admin.js';
import { RequestTracker } from './drain.js';
import { GatewayState } from './gateway-state.js';
import { IssuerBoundsTable } from './issuer-bounds.js';
import { RequestPipeline } from './pipeline.js';
import { buildPolicyBundle, type PolicyBundle } from './policy.js';
import { createProxyServer } from './proxy-server.js';
import { sendRawRejection } from './responses.js';
import { UpgradeRelay } from './upgrade.js';
import { ConfigReloader, type ReloadOutcome, type ReloadTrigger } from './reload.js';
import { shutDown } from './shutdown.js';
import { buildStatusDocument } from './status.js';

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
  /** Reloads the config file. Never rejects: the outcome reports whether the new config runs. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  /** Shuts down gracefully (see shutdown.ts); later calls return the same promise. */
  close(): Promise<void>;
}

/** Builds and starts the proxy; rejects when keys cannot be read or a port cannot be bound. */
export async function startGateway(loaded: LoadedConfig, options: GatewayOptions): Promise<Gateway> {
  const { config } = loaded;
  const { logger } = options;
  const now = options.now ?? Date.now;

  const lifecycle = componentLogger(logger, 'lifecycle', 'info');
  const metrics = new Metrics(new Registry(), VERSION);
  const initial = await buildPolicyBundle(config, now, (issuer, result) => metrics.recordJwksFetch(issuer, result));
  const bounds = new IssuerBoundsTable(config);
  const denylist = new Denylist(bounds.lookup(), { versionClaim: config.revocation.versionClaim, now });
  const replica = new RevocationReplica({
    config: config.revocation,
    denylist,
    responderKeys: initial.responderKeys,
    // Reconnects and resyncs are warnings, which the replica writes whatever the configured level.
    logger: componentLogger(logger, 'replica', 'warn'),
    metrics,
    now,
    requiredMaxAge: Math.max(...config.issuers.map((issuer) => issuer.maxTokenLifetime + issuer.clockTolerance)),
  });
  metrics.observeReplica(replica);
  metrics.observeVerifier(initial.policy.verifier);

  const upstream = createUpstreamPool(config.upstream);
  const pipeline = new RequestPipeline({
    ...initial.policy,
    denylist,
    freshness: replica,
    upstream,
    logger: logger.child({ component: 'access' }),
    metrics,
  });

  const upgrades = new UpgradeRelay({
    upstreamUrl: config.upstream.url,
    connectTimeout: config.upstream.connectTimeout,
    denylist,
    freshness: replica,
    logger: logger.child({ component: 'upgrade' }),
    now,
    authorize: (request) => pipeline.authorizeUpgrade(request),
    reject: (socket, rejection) => sendRawRejection(socket, rejection),
  });
  const proxyServer = createProxyServer(config.server, pipeline, logger.child({ component: 'listener' }), upgrades);
  const requests = new RequestTracker(proxyServer);
  const state: GatewayState = new GatewayState({
    loaded,
    replica,
    requestsInFlight: () => requests.inFlight,
    lastReload: () => reloader.lastReload(),
    now,
  });
  metrics.observeGateway(state);

  /** Swaps in a reloaded policy. Nothing here awaits, so no request or event runs with half of the change. */
  const applyReload = (bundle: PolicyBundle, next: LoadedConfig, restartRequired: string[]) => {
    pipeline.usePolicy(bundle.policy);
    replica.updateResponderKeys?.(bundle.responderKeys);
    bounds.update(next.config);
    metrics.observeVerifier(bundle.policy.verifier);
    state.replaceConfig(next, restartRequired);
  };
  const reloader = new ConfigReloader({
    running: () => state.loaded,
    apply: applyReload,
    metrics,
    logger: componentLogger(logger, 'reload', 'info'),
    now,
  });

  const adminServer = createAdminServer({
    metrics,
    notReadyReason: () => state.notReadyReason(),
    status: () => buildStatusDocument(state, replica, now()),
    reload: () => (state.loaded.config.adminReload ? reloader.reload('admin') : undefined),
    revocationApi: { denylist, explain: (token, method, path) => pipeline.explain(token, method, path) },
  });
  const proxyUrl = await listen(proxyServer, config.listen);
  const admin = new RequestTracker(adminServer);
  const adminUrl = await listen(adminServer, config.admin).catch(async (error: unknown) => {
    await requests.drain(0);
    throw error;
  });
  await replica.start();
  upgrades.start();
  lifecycle.info({ listen: proxyUrl, admin: adminUrl, upstream: config.upstream.url, version: VERSION, configDigest: loaded.digest }, 'revgate started');

  let closing: Promise<void> | undefined;
  const close = () => {
    // Upgraded connections would hold the drain until its timeout; their clients reconnect elsewhere.
    upgrades.close();
    closing ??= shutDown({
      settings: config.server,
      beginShutdown: () => state.beginShutdown(),
      proxy: requests,
      admin,
      replica,
      upstream,
      logger: lifecycle,
    });
    return closing;
  };

  return { proxyUrl, adminUrl, replica, denylist, reload: (trigger) => reloader.reload(trigger), close };
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
