/**
 * Publishing a revocation until JetStream acknowledges it.
 *
 * A publish counts only once the stream has acknowledged it: the NATS client discards its outbound
 * buffer when it reconnects, so a message sent while disconnected is silently lost. Each attempt
 * therefore waits for a JetStream ack and, failing that, retries with exponential backoff and
 * jitter until the deadline. Every attempt carries the same message id (`Nats-Msg-Id`), so a retry
 * of a publish that was stored but whose ack was lost is dropped as a duplicate, not stored twice.
 */
import { setTimeout as delay } from 'node:timers/promises';

import { jetstream, type PubAck } from '@nats-io/jetstream';
import { AuthorizationError, PermissionViolationError, connect, type NatsConnection } from '@nats-io/transport-node';

import { RevgateError, describeError } from '../errors.js';
import { natsConnectionOptions, type NatsConnectionSettings } from './nats-connection.js';

export interface PublishRequest {
  nats: NatsConnectionSettings;
  stream: string;
  subject: string;
  payload: string;
  /** JetStream message id; the revocation id, so that retries deduplicate. */
  messageId: string;
  /** Total time allowed for all attempts, in milliseconds. */
  timeout: number;
  /** Called after each failed attempt, with the delay before the next one. */
  onRetry?: (attempt: number, error: string, nextDelay: number) => void;
}

const ATTEMPT_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 4000;

/** Publishes until acknowledged, or throws ERR_NOT_STORED naming the last error once the timeout passes. */
export async function publishUntilAcknowledged(request: PublishRequest): Promise<PubAck> {
  const deadline = Date.now() + request.timeout;
  let connection: NatsConnection | undefined;
  let lastError = 'no attempt was made';

  try {
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const attemptTimeout = Math.max(100, Math.min(ATTEMPT_TIMEOUT_MS, remaining));
      try {
        connection ??= await connect({
          ...(await natsConnectionOptions(request.nats)),
          timeout: attemptTimeout,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
        });
        return await jetstream(connection).publish(request.subject, request.payload, {
          msgID: request.messageId,
          expect: { streamName: request.stream },
          timeout: attemptTimeout,
        });
      } catch (error) {
        lastError = describeError(error);
        // No retry can fix missing permissions or rejected credentials.
        if (error instanceof PermissionViolationError || error instanceof AuthorizationError) break;
        const wait = Math.min(backoff(attempt), Math.max(0, deadline - Date.now()));
        if (deadline - Date.now() <= 0) break;
        request.onRetry?.(attempt, lastError, wait);
        await delay(wait);
      }
    }
  } finally {
    await connection?.close().catch(() => undefined);
  }

  throw new RevgateError('ERR_NOT_STORED', `no JetStream acknowledgement (timeout ${request.timeout}ms); last error: ${lastError}`);
}

/** Exponential backoff with full jitter: a random delay up to 100ms * 2^attempt, capped. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt);
}
