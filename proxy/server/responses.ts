/**
 * Responses the proxy writes itself. Bodies are `{"error": "<reason>"}` and never contain the
 * token, its claims or any other request data. 401 and 403 carry `WWW-Authenticate` as RFC 6750
 * section 3 describes: no error code when the request had no token, `invalid_request` for a
 * malformed request, `invalid_token` for a token that failed, `insufficient_scope` with the scopes
 * the route needs.
 */
import type { ServerResponse } from 'node:http';

import type { Rejection, RejectionReason } from '../errors.js';

const INVALID_REQUEST: ReadonlySet<RejectionReason> = new Set(['token_in_query', 'duplicate_authorization']);

export function sendRejection(response: ServerResponse, rejection: Rejection): void {
  if (response.headersSent || response.destroyed) {
    response.destroy();
    return;
  }
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...rejection.headers,
  };
  const challenge = authenticateChallenge(rejection.reason, rejection.status);
  if (challenge && headers['www-authenticate'] === undefined) headers['www-authenticate'] = challenge;

  const body = JSON.stringify({ error: rejection.reason });
  headers['content-length'] = String(Buffer.byteLength(body));
  response.writeHead(rejection.status, headers);
  response.end(body);
}

function authenticateChallenge(reason: RejectionReason, status: number): string | undefined {
  if (INVALID_REQUEST.has(reason)) return 'Bearer error="invalid_request"';
  if (status === 403) return 'Bearer error="insufficient_scope"';
  if (status !== 401) return undefined;
  if (reason === 'missing_token') return 'Bearer';
  return 'Bearer error="invalid_token"';
}
