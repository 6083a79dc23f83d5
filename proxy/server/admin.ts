/**
 * The admin listener (127.0.0.1 by default): `/metrics` for Prometheus, `/healthz` for liveness,
 * `/readyz` for readiness, `/status` for people, and `POST /reload` when `adminReload` is on.
 * Nothing here returns a token or a claim.
 */
import http from 'node:http';

import type { Metrics } from '../observability/metrics.js';
import { handleRevocationApi, type RevocationApiDependencies } from './admin-revocations.js';
import type { ReloadOutcome } from './reload.js';
import type { StatusDocument } from './status.js';

export interface AdminDependencies {
  metrics: Metrics;
  /** Reason the proxy is not ready, or undefined when it is ready. */
  notReadyReason: () => string | undefined;
  status: () => StatusDocument;
  /** Starts a reload for `POST /reload`; returns undefined when `adminReload` is off. */
  reload: () => Promise<ReloadOutcome> | undefined;
  revocationApi: RevocationApiDependencies;
}

export function createAdminServer(deps: AdminDependencies): http.Server {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://admin');
    void handleRevocationApi(deps.revocationApi, request, response, url).then((handled) => {
      if (handled) return;
      if (url.pathname === '/reload') return reload(deps, request, response);
      return route(deps, request.method ?? '', url.pathname, response);
    });
  });
}

async function route(deps: AdminDependencies, method: string, path: string, response: http.ServerResponse): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') return sendJson(response, 405, { error: 'method_not_allowed' });

  switch (path) {
    case '/healthz':
      return sendJson(response, 200, { status: 'ok' });
    case '/readyz': {
      const reason = deps.notReadyReason();
      return sendJson(response, reason ? 503 : 200, reason ? { ready: false, reason } : { ready: true });
    }
    case '/metrics': {
      const body = await deps.metrics.registry.metrics();
      response.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      response.end(body);
      return;
    }
    case '/status':
      return sendJson(response, 200, deps.status());
    default:
      return sendJson(response, 404, { error: 'not_found' });
  }
}

/** Handles `POST /reload`: responds 200 with the outcome when the new config runs, 422 with every problem when it was rejected. */
async function reload(deps: AdminDependencies, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  request.resume();
  if (request.method !== 'POST') return sendJson(response, 405, { error: 'method_not_allowed' });
  const outcome = deps.reload();
  if (outcome === undefined) {
    return sendJson(response, 403, { error: 'reload_disabled', message: 'POST /reload is off; set adminReload: true in the config, or send SIGHUP' });
  }
  const result = await outcome;
  return sendJson(response, result.result === 'success' ? 200 : 422, result);
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
