/**
 * The admin listener (127.0.0.1 by default): `/metrics` for Prometheus, `/healthz` for liveness,
 * `/readyz` for readiness, `/status` for people. Nothing here returns a token or a claim.
 */
import http from 'node:http';

import type { RevocationConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { RevocationReplica } from '../revocation/replica.js';
import { VERSION } from '../version.js';

export interface AdminDependencies {
  metrics: Metrics;
  replica: RevocationReplica;
  revocation: RevocationConfig;
  configDigest: string;
}

export function createAdminServer(deps: AdminDependencies): http.Server {
  return http.createServer((request, response) => {
    void route(deps, request.method ?? '', new URL(request.url ?? '/', 'http://admin').pathname, response);
  });
}

async function route(deps: AdminDependencies, method: string, path: string, response: http.ServerResponse): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') return sendJson(response, 405, { error: 'method_not_allowed' });

  switch (path) {
    case '/healthz':
      return sendJson(response, 200, { status: 'ok' });
    case '/readyz': {
      const reason = notReadyReason(deps);
      return sendJson(response, reason ? 503 : 200, reason ? { ready: false, reason } : { ready: true });
    }
    case '/metrics': {
      const body = await deps.metrics.registry.metrics();
      response.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      response.end(body);
      return;
    }
    case '/status':
      return sendJson(response, 200, statusDocument(deps));
    default:
      return sendJson(response, 404, { error: 'not_found' });
  }
}

/** Returns why the proxy is not ready, or undefined when it is. */
function notReadyReason(deps: AdminDependencies): string | undefined {
  if (!deps.replica.synced()) return 'replica_not_synced';
  const { failWhenStale } = deps.revocation.readiness;
  if (failWhenStale && deps.replica.stalenessSeconds() > deps.revocation.maxStaleness / 1000) return 'replica_stale';
  return undefined;
}

function statusDocument(deps: AdminDependencies): Record<string, unknown> {
  const { replica } = deps;
  const staleness = replica.stalenessSeconds();
  return {
    version: VERSION,
    stream: deps.revocation.stream,
    synced: replica.synced(),
    stalenessSeconds: Number.isFinite(staleness) ? staleness : null,
    appliedSequence: replica.appliedSequence(),
    lastKnownSequence: replica.lastKnownSequence(),
    entries: replica.entriesByKind(),
    natsConnected: replica.natsConnected(),
    natsServer: replica.connectedServer() ?? null,
    configDigest: deps.configDigest,
  };
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
