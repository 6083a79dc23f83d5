/**
 * Graceful shutdown. Readiness turns false at once. After `server.shutdownDelay`, the client
 * listener stops accepting connections, and in-flight requests get up to `server.drainTimeout` to
 * finish. Then the admin listener, the revocation replica (with its NATS connection) and the
 * upstream pool close.
 */
import { setTimeout as delay } from 'node:timers/promises';

import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { RequestTracker } from './drain.js';

/** Admin requests are short; this bounds how long one can hold up the exit. */
const ADMIN_DRAIN_TIMEOUT_MS = 2000;

export interface ShutdownParts {
  settings: Pick<Config['server'], 'drainTimeout' | 'shutdownDelay'>;
  beginShutdown: () => void;
  proxy: RequestTracker;
  admin: RequestTracker;
  replica: { close(): Promise<void> };
  upstream: { close(): Promise<void>; destroy(): Promise<void> };
  logger: Logger;
}

export async function shutDown(parts: ShutdownParts): Promise<void> {
  const { settings, logger } = parts;
  parts.beginShutdown();
  logger.info(
    { requestsInFlight: parts.proxy.inFlight, shutdownDelayMs: settings.shutdownDelay, drainTimeoutMs: settings.drainTimeout },
    'shutting down: readiness is off; draining in-flight requests',
  );
  if (settings.shutdownDelay > 0) await delay(settings.shutdownDelay);

  const started = Date.now();
  const drained = await parts.proxy.drain(settings.drainTimeout);
  if (drained.completed) {
    logger.info({ drainMs: Date.now() - started }, 'in-flight requests drained');
  } else {
    logger.warn(
      { cutRequests: drained.cutRequests, drainTimeoutMs: settings.drainTimeout },
      'drain timeout reached; cut the connections still open (raise server.drainTimeout if requests need longer)',
    );
  }

  await parts.admin.drain(ADMIN_DRAIN_TIMEOUT_MS);
  await parts.replica.close();
  // After a cut, upstream requests may still be pending; destroy() aborts them instead of waiting.
  await (drained.completed ? parts.upstream.close() : parts.upstream.destroy());
  logger.info('revgate stopped');
}
