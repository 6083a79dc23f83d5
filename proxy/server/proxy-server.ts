/**
 * The client-facing HTTP listener. It uses Node's strict HTTP parser (never `insecureHTTPParser`),
 * requires a Host header, and bounds header size and the time a client may take to send headers
 * and the whole request, which is what stops slow-loris clients from holding connections. With
 * `server.maxConnections` set, Node closes each connection above the limit as soon as it is accepted.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';

import type { Config } from '../config/schema.js';
import { REJECTIONS, Rejection, type RejectionReason } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { recordListenerRejection } from './listener-rejections.js';
import type { RequestPipeline } from './pipeline.js';
import { sendRejection } from './responses.js';
import type { UpgradeRelay } from './upgrade.js';

/** Connections dropped at `server.maxConnections` are logged at most once per this interval. */
const DROP_LOG_INTERVAL_MS = 10_000;

export function createProxyServer(settings: Config['server'], pipeline: RequestPipeline, logger: Logger, upgrades?: UpgradeRelay): http.Server {
  const server = http.createServer(
    {
      maxHeaderSize: settings.maxHeaderSize,
      headersTimeout: settings.headersTimeout,
      requestTimeout: settings.requestTimeout,
      keepAliveTimeout: settings.keepAliveTimeout,
      insecureHTTPParser: false,
      // The pipeline validates Host itself, so that a missing or malformed one gets a JSON 400.
      requireHostHeader: false,
      joinDuplicateHeaders: false,
      // How often Node enforces the two timeouts above; its 30 s default would stretch them.
      connectionsCheckingInterval: 1000,
    },
    (request, response) => void pipeline.handle(request, response),
  );
  // With this listener Node no longer sends `100 Continue` by itself. The forwarding step sends it
  // once every check has passed, so a rejected client is never asked for its body.
  server.on('checkContinue', (request, response) => void pipeline.handle(request, response));
  if (settings.maxConnections !== undefined) {
    server.maxConnections = settings.maxConnections;
    server.on('drop', createDropLogger(logger, settings.maxConnections));
  }

  const rejectOnSocket = (socket: Duplex, reason: RejectionReason, method?: string) => {
    if (refuseRawSocket(socket, reason)) pipeline.recordListenerRejection(new Rejection(reason), method);
  };
  // Upgrade requests (WebSocket) pass the same checks in the relay; without one they are rejected.
  server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (upgrades) void upgrades.handle(request, socket, head);
    else rejectOnSocket(socket, 'upgrade_not_supported', request.method);
  });
  server.on('connect', (request: http.IncomingMessage, socket: Duplex) => rejectOnSocket(socket, 'method_not_allowed', request.method));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    logger.debug({ code: error.code }, 'malformed HTTP request');
    const reason = clientErrorReason(error);
    const pending = pendingResponse(socket);
    if (!pending) return rejectOnSocket(socket, reason);

    // The request's head was valid and the pipeline has it, but its body is malformed or too
    // slow. The error response goes out through the pipeline's response object, the pipeline logs
    // the same rejection, and ending the request stream stops the upstream request.
    const rejection = new Rejection(reason, { connection: 'close' });
    recordListenerRejection(pending.req, rejection);
    sendRejection(pending, rejection);
    pending.once('finish', () => pending.req.destroy(error));
  });
  return server;
}

function clientErrorReason(error: NodeJS.ErrnoException): RejectionReason {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  return 'invalid_request';
}

/** Returns a `drop` listener that logs the connections dropped since its previous line, at most once per interval. */
function createDropLogger(logger: Logger, maxConnections: number): () => void {
  let dropped = 0;
  let loggedAt = Number.NEGATIVE_INFINITY;
  return () => {
    dropped++;
    const now = Date.now();
    if (now - loggedAt < DROP_LOG_INTERVAL_MS) return;
    logger.warn({ dropped, maxConnections }, 'client connections closed at server.maxConnections');
    dropped = 0;
    loggedAt = now;
  };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
};

/**
 * Writes a JSON error response straight to the socket and closes it. Returns false, and only
 * destroys the socket, when no response can be written: the client is gone, or a response has
 * already started on this connection and another status line would corrupt it.
 */
function refuseRawSocket(socket: Duplex, reason: RejectionReason): boolean {
  if (!socket.writable || responseStarted(socket)) {
    socket.destroy();
    return false;
  }
  const status = REJECTIONS[reason];
  const body = JSON.stringify({ error: reason });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
  );
  return true;
}

/**
 * Returns the socket's current response while its headers are unsent and its request is still
 * being read, so that the parser's error concerns that request's body. A complete request's error
 * belongs to a pipelined request behind it.
 */
function pendingResponse(socket: Duplex): http.ServerResponse | undefined {
  const current = currentResponse(socket);
  if (!current || current.headersSent || current.writableEnded || current.req.complete) return undefined;
  return current;
}

function responseStarted(socket: Duplex): boolean {
  return currentResponse(socket)?.headersSent === true;
}

function currentResponse(socket: Duplex): http.ServerResponse | undefined {
  // NOTE: `_httpMessage` is Node's internal link from a socket to its current response (Node 20);
  // Node's own default `clientError` handler reads it too, before it writes a 400.
  const current = (socket as { _httpMessage?: unknown })._httpMessage;
  return current instanceof http.ServerResponse ? current : undefined;
}
