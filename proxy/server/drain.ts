/**
 * In-flight requests of an HTTP listener, and draining them at shutdown: stop accepting
 * connections, let every request in flight finish, ask keep-alive clients to close, and cut
 * whatever is still open when the drain timeout ends.
 */
import type http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

/** How often idle keep-alive connections are closed while draining, in milliseconds. */
const IDLE_SWEEP_MS = 100;

export interface DrainResult {
  /** False when the timeout ended first and open connections were cut. */
  completed: boolean;
  /** Requests still in flight when their connections were cut. */
  cutRequests: number;
}

export class RequestTracker {
  private readonly server: http.Server;
  private readonly active = new Set<http.ServerResponse>();
  private draining = false;

  /** Starts tracking a listener; call it before the listener receives its first request. */
  constructor(server: http.Server) {
    this.server = server;
    // Prepended, so that the response is tracked before the request handler can respond.
    const track = (_request: http.IncomingMessage, response: http.ServerResponse) => this.track(response);
    server.prependListener('request', track);
    // Node sends `100 Continue` itself and emits 'request' unless 'checkContinue' has a
    // listener, so a listener is added here only when the server already handles that event.
    if (server.listenerCount('checkContinue') > 0) server.prependListener('checkContinue', track);
  }

  get inFlight(): number {
    return this.active.size;
  }

  /**
   * Stops accepting connections and resolves once every connection has closed, or after
   * `timeoutMs`, when the remaining connections are cut. Responses not yet started carry
   * `Connection: close`, so keep-alive clients open their next request elsewhere.
   */
  async drain(timeoutMs: number): Promise<DrainResult> {
    this.draining = true;
    for (const response of this.active) closeAfterResponse(response);
    if (!this.server.listening) return { completed: true, cutRequests: 0 };

    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const sweep = setInterval(() => this.server.closeIdleConnections(), IDLE_SWEEP_MS);
    this.server.closeIdleConnections();
    const timeout = new AbortController();
    try {
      const completed = await Promise.race([
        closed.then(() => true),
        delay(timeoutMs, false, { signal: timeout.signal }),
      ]);
      if (completed) return { completed, cutRequests: 0 };
      const cutRequests = this.active.size;
      this.server.closeAllConnections();
      await closed;
      return { completed: false, cutRequests };
    } finally {
      timeout.abort();
      clearInterval(sweep);
    }
  }

  private track(response: http.ServerResponse): void {
    if (response.writableFinished) return;
    if (this.draining) closeAfterResponse(response);
    this.active.add(response);
    response.once('close', () => this.active.delete(response));
  }
}

function closeAfterResponse(response: http.ServerResponse): void {
  if (!response.headersSent) response.shouldKeepAlive = false;
}
