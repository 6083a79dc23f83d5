/**
 * Publishing revocations until JetStream acknowledges them.
 *
 * A publish counts only once the stream has acknowledged it: the NATS client discards its outbound
 * buffer when it reconnects, so a message sent while disconnected is silently lost. Each attempt
 * therefore waits for a JetStream ack and, failing that, retries with exponential backoff and
 * jitter until the deadline. Every attempt carries the same message id (`Nats-Msg-Id`), so a retry
 * of a publish that was stored but whose ack was lost is dropped as a duplicate, not stored twice.
 */
import { setTimeout as delay } from 'node:timers/promises';

import { JetStreamApiError, jetstream, type PubAck } from '@nats-io/jetstream';
import { AuthorizationError, PermissionViolationError, connect, type NatsConnection } from '@nats-io/transport-node';

import { RevgateError, describeError } from '../errors.js';
import { natsConnectionOptions, type NatsConnectionSettings } from './nats-connection.js';

export interface OutgoingEvent {
  /** The stream that must store the event, checked by the server. */
  stream: string;
  subject: string;
  payload: string;
  /** JetStream message id; the event id, so that retries deduplicate. */
  messageId: string;
}

export interface PublishRequest extends OutgoingEvent {
  nats: NatsConnectionSettings;
  /** Total time allowed for all attempts, in milliseconds. */
  timeout: number;
  /** Called after each failed attempt, with the delay before the next one. */
  onRetry?: (attempt: number, error: string, nextDelay: number) => void;
}

const ATTEMPT_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 4000;

/** Publishes one event until acknowledged, or throws ERR_NOT_STORED naming the last error once the timeout passes. */
export async function publishUntilAcknowledged(request: PublishRequest): Promise<PubAck> {
  const publisher = new Publisher(request.nats);
  try {
    return await publisher.publish(request, Date.now() + request.timeout, request.onRetry);
  } finally {
    await publisher.close();
  }
}

/** One NATS connection, opened on first use, shared by any number of concurrent publishes. */
export class Publisher {
  private readonly settings: NatsConnectionSettings;
  private connecting: Promise<NatsConnection> | undefined;

  constructor(settings: NatsConnectionSettings) {
    this.settings = settings;
  }

  /** Publishes until acknowledged or until `deadline` (epoch milliseconds), then throws ERR_NOT_STORED. */
  async publish(event: OutgoingEvent, deadline: number, onRetry?: PublishRequest['onRetry']): Promise<PubAck> {
    let lastError = 'no attempt was made';
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const attemptTimeout = Math.max(100, Math.min(ATTEMPT_TIMEOUT_MS, remaining));
      try {
        const connection = await this.connection(attemptTimeout);
        return await jetstream(connection).publish(event.subject, event.payload, {
          msgID: event.messageId,
          expect: { streamName: event.stream },
          timeout: attemptTimeout,
        });
      } catch (error) {
        // The client names "no stream listens on this subject" as JetStream not being enabled.
        lastError = (error as Error).name === 'JetStreamNotEnabled'
          ? `no stream stores ${event.subject}; check --stream, or create the streams with "revgate stream init"`
          : describeError(error);
        // No retry can fix missing permissions, rejected credentials, or a publish that JetStream
        // refused (a full stream, or a subject no stream listens on).
        if (error instanceof PermissionViolationError || error instanceof AuthorizationError || error instanceof JetStreamApiError) break;
        const wait = Math.min(backoff(attempt), Math.max(0, deadline - Date.now()));
        if (deadline - Date.now() <= 0) break;
        onRetry?.(attempt, lastError, wait);
        await delay(wait);
      }
    }
    throw new RevgateError('ERR_NOT_STORED', `no JetStream acknowledgement before the timeout; last error: ${lastError}`);
  }

  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = undefined;
    const connection = await connecting?.catch(() => undefined);
    await connection?.close().catch(() => undefined);
  }

  /** Returns the shared connection, connecting (again) when there is none yet or the last attempt failed. */
  private connection(timeout: number): Promise<NatsConnection> {
    if (!this.connecting) {
      const attempt = natsConnectionOptions(this.settings).then((options) =>
        connect({ ...options, timeout, maxReconnectAttempts: -1, reconnectTimeWait: 250 }),
      );
      this.connecting = attempt;
      attempt.catch(() => {
        if (this.connecting === attempt) this.connecting = undefined;
      });
    }
    return this.connecting;
  }
}

/** Exponential backoff with full jitter: a random delay up to 100ms * 2^attempt, capped. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt);
}
