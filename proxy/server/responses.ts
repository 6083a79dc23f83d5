/**
 * Responses the proxy writes itself. Bodies are `{"error": "<reason>"}` and never contain the
 * token, its claims or any other request data. 401 and 403 carry `WWW-Authenticate` as RFC 6750
 * section 3 describes: no error code when the request had no token, `invalid_request` for a
 * malformed request, `invalid_token` for a token that failed, `insufficient_scope` with the scopes
 * the route needs.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Rejection, RejectionReason } from '../errors.js';

const INVALID_REQUEST: ReadonlySet<RejectionReason> = new Set(['token_in_query', 'duplicate_authorization']);

export function sendRejection(response: ServerResponse, rejection: Rejection): void {
  if (response.headersSent || response.destroyed) {
    response.destroy();
    return;
  }
  const { headers, body } = rejectionResponse(rejection);
  response.writeHead(rejection.status, headers);
  response.end(body);
}

/** Writes a rejection as a raw HTTP/1.1 response on a socket that left Node's HTTP handling (an upgrade), then closes it. */
export function sendRawRejection(socket: Duplex, rejection: Rejection): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const { headers, body } = rejectionResponse(rejection);
  const lines = Object.entries({ ...headers, connection: 'close' }).map(([name, value]) => `${name}: ${value}`);
  socket.end(`HTTP/1.1 ${rejection.status} ${STATUS_CODES[rejection.status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** Builds the headers and JSON body of a rejection, with its RFC 6750 challenge. */
function rejectionResponse(rejection: Rejection): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...rejection.headers,
  };
  const challenge = authenticateChallenge(rejection.reason, rejection.status);
  if (challenge && headers['www-authenticate'] === undefined) headers['www-authenticate'] = challenge;

  const body = JSON.stringify({ error: rejection.reason });
  headers['content-length'] = String(Buffer.byteLength(body));
  return { headers, body };
}

function authenticateChallenge(reason: RejectionReason, status: number): string | undefined {
  if (INVALID_REQUEST.has(reason)) return 'Bearer error="invalid_request"';
  if (status === 403) return 'Bearer error="insufficient_scope"';
  if (status !== 401) return undefined;
  if (reason === 'missing_token') return 'Bearer';
  return 'Bearer error="invalid_token"';
}
