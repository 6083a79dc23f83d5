/**
 * The client-facing HTTP listener. It uses Node's strict HTTP parser (never `insecureHTTPParser`),
 * requires a Host header, and bounds header size and the time a client may take to send headers
 * and the whole request, which is what stops slow-loris clients from holding connections.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';

import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { RequestPipeline } from './pipeline.js';

export function createProxyServer(settings: Config['server'], pipeline: RequestPipeline, logger: Logger): http.Server {
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

  // Upgraded connections (WebSocket) bypass the request pipeline, so they are refused outright.
  server.on('upgrade', (_request, socket: Duplex) => refuseRawSocket(socket, 501, 'upgrade_not_supported'));
  server.on('connect', (_request, socket: Duplex) => refuseRawSocket(socket, 405, 'method_not_allowed'));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    logger.debug({ code: error.code }, 'malformed HTTP request');
    if (error.code === 'HPE_HEADER_OVERFLOW') return refuseRawSocket(socket, 431, 'headers_too_large');
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return refuseRawSocket(socket, 408, 'request_timeout');
    refuseRawSocket(socket, 400, 'invalid_request');
  });
  return server;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
};

function refuseRawSocket(socket: Duplex, status: number, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: reason });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
  );
}
