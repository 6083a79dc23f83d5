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
import { listenerRejectionOf } from '../server/listener-rejections.js';
import { buildClientHeaders } from './headers.js';

/** undici error codes for an upstream that was too slow; the client gets 504. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Upstream error codes reported as metric labels as they are; see `metricCode` for the rest. */
const KNOWN_CODES = new Set([
  ...TIMEOUT_CODES, 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET',
  'UND_ERR_CLOSED', 'UND_ERR_INFO', 'UND_ERR_ABORTED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'invalid_response',
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

/** Returns true when the client sent `Expect: 100-continue` and waits for `100 Continue` before the body. */
function expectsContinue(request: IncomingMessage): boolean {
  return request.headers.expect?.trim().toLowerCase() === '100-continue';
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
  const failedEarly = listenerRejectionOf(request);
  if (failedEarly) throw failedEarly;

  const abort = new AbortController();
  const abortOnClientClose = () => {
    if (!response.writableFinished) abort.abort();
  };
  response.once('close', abortOnClientClose);

  // The listener defers `100 Continue` to this point, so a rejected client never sends its body.
  if (expectsContinue(request)) response.writeContinue();

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
    throw clientFailure(request, response) ?? toUpstreamError(error);
  }
  const upstreamSeconds = (performance.now() - started) / 1000;

  try {
    response.writeHead(result.statusCode, buildClientHeaders(result.headers));
  } catch {
    // Node refused a status or header that undici accepted; the body would hold the connection.
    result.body.destroy();
    response.off('close', abortOnClientClose);
    throw new UpstreamError('invalid_response', false);
  }
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

/**
 * Returns the rejection for a dispatch that failed because of the client rather than the upstream,
 * or undefined: the listener rejected the request's body, or the client hung up. Such failures
 * must not count as upstream errors.
 */
function clientFailure(request: IncomingMessage, response: ServerResponse): Rejection | undefined {
  return listenerRejectionOf(request) ?? (response.destroyed ? new Rejection('client_closed') : undefined);
}

function toUpstreamError(error: unknown): UpstreamError {
  const name = errorCode(error);
  return new UpstreamError(metricCode(name), TIMEOUT_CODES.has(name));
}

/**
 * Returns the error's code. undici 7 leaves `code` unset on most HTTPParserErrors and raises an
 * assertion (`ERR_ASSERTION`) for a status below 100, so both are read by their names here.
 */
function errorCode(error: unknown): string {
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (name === 'HTTPParserError' || code === 'ERR_ASSERTION') return 'invalid_response';
  if (typeof code === 'string') return code;
  return name === 'AbortError' ? 'UND_ERR_ABORTED' : 'other';
}

/** Keeps the label set small: every llhttp parse error (`HPE_*`) counts as one invalid response. */
function metricCode(code: string): string {
  if (KNOWN_CODES.has(code)) return code;
  if (code.startsWith('HPE_')) return 'invalid_response';
  return 'other';
}
