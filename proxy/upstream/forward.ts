/**
 * Forwarding one request to the upstream and streaming the response back. Bodies stream in both
 * directions through undici and node:stream `pipeline`; nothing is buffered whole. A failure
 * before the response has started becomes a 502 or 504 Rejection; a failure after that can only
 * end the client connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

import type { Dispatcher } from 'undici';

import { Rejection } from '../errors.js';
import { buildClientHeaders } from './headers.js';

/** undici error codes for an upstream that was too slow; the client gets 504. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Upstream error codes reported as metric labels as they are; see `metricCode` for the rest. */
const KNOWN_CODES = new Set([
  ...TIMEOUT_CODES, 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET',
  'UND_ERR_CLOSED', 'UND_ERR_INFO', 'UND_ERR_ABORTED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

export interface UpstreamRequest {
  method: string;
  /** Canonical path plus the original query string. */
  path: string;
  headers: string[];
}

export interface UpstreamOutcome {
  status: number;
  /** Seconds until the upstream's response headers arrived. */
  upstreamSeconds: number;
}

export class UpstreamError extends Rejection {
  constructor(readonly code: string, timeout: boolean) {
    super(timeout ? 'upstream_timeout' : 'upstream_unavailable');
  }
}

/** Returns true when the request has a body to stream (RFC 9112 section 6.3). */
function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Sends the request upstream and pipes the response to the client. Throws UpstreamError when no
 * response could be obtained; resolves once the response body has been sent or the client left.
 */
export async function forwardRequest(
  dispatcher: Dispatcher,
  request: IncomingMessage,
  response: ServerResponse,
  upstream: UpstreamRequest,
): Promise<UpstreamOutcome> {
  const abort = new AbortController();
  const abortOnClientClose = () => {
    if (!response.writableFinished) abort.abort();
  };
  response.once('close', abortOnClientClose);

  const started = performance.now();
  let result: Dispatcher.ResponseData;
  try {
    result = await dispatcher.request({
      method: upstream.method as Dispatcher.HttpMethod,
      path: upstream.path,
      headers: upstream.headers,
      body: hasBody(request) ? request : null,
      signal: abort.signal,
    });
  } catch (error) {
    response.off('close', abortOnClientClose);
    throw toUpstreamError(error);
  }
  const upstreamSeconds = (performance.now() - started) / 1000;

  response.writeHead(result.statusCode, buildClientHeaders(result.headers));
  try {
    await pipeline(result.body, response);
  } catch {
    // The client left or the upstream broke off mid-body. The status line is already sent, so all
    // that is left is to close both sides.
    result.body.destroy();
    response.destroy();
  } finally {
    response.off('close', abortOnClientClose);
  }
  return { status: result.statusCode, upstreamSeconds };
}

function toUpstreamError(error: unknown): UpstreamError {
  const code = (error as { code?: unknown }).code;
  const name = typeof code === 'string' ? code : (error as { name?: unknown }).name === 'AbortError' ? 'UND_ERR_ABORTED' : 'other';
  return new UpstreamError(metricCode(name), TIMEOUT_CODES.has(name));
}

/** Keeps the label set small: every llhttp parse error (`HPE_*`) counts as one invalid response. */
function metricCode(code: string): string {
  if (KNOWN_CODES.has(code)) return code;
  if (code.startsWith('HPE_')) return 'invalid_response';
  return 'other';
}
