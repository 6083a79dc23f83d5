/**
 * Follows one JetStream stream for the replica: replays it with an ordered consumer, keeps
 * consuming live, and probes where the stream ends to keep its own staleness.
 *
 * The probe also notices a stream that was deleted and recreated (its creation time changed, or
 * its last sequence went below what was applied) and then replays the new stream from the start,
 * and it recreates a consumer that makes no progress while the stream answers (lost with a cluster
 * node, or stalled).
 */
import { setTimeout as delay } from 'node:timers/promises';

import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';

import { describeError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { StalenessTracker } from './staleness.js';
import { isStreamNotFound } from './stream.js';

/** Probes in a row that may find the replica behind and not moving before its consumer is recreated. */
const PROBES_BEFORE_RESTART = 3;

/** Maximum pause between attempts to create the consumer when the stream is missing or NATS fails. */
const MAX_RETRY_DELAY_MS = 5000;

/**
 * Applies the messages of a stream in two steps: `verify` may run for several messages at once,
 * `apply` runs in stream order. `replaying` is true while a backlog is read. Neither may throw.
 */
export interface MessageHandler {
  verify(data: string): Promise<unknown>;
  apply(verified: unknown, sequence: number, follower: StreamFollower, replaying: boolean): void;
}

/** Messages verified at once while a backlog is read; live messages are applied one by one. */
const VERIFY_WINDOW = 64;

export interface FollowerOptions {
  stream: string;
  logger: Logger;
  metrics: Metrics | undefined;
  now: () => number;
  onMessage: MessageHandler;
  signal: AbortSignal;
  /** Shortest message age (milliseconds) the stream must keep: the longest token lifetime plus tolerance. */
  requiredMaxAge?: number | undefined;
}

/** Position of a follower in its stream, as a snapshot records it. */
export interface FollowerPosition {
  sequence: number;
  created: string | undefined;
}

export class StreamFollower {
  readonly stream: string;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly now: () => number;
  private readonly onMessage: MessageHandler;
  private readonly signal: AbortSignal;
  private readonly startedAt: number;
  private tracker: StalenessTracker;

  private consumer: Consumer | undefined;
  private messages: ConsumerMessages | undefined;
  private probing = false;
  private appliedSeq = 0;
  private lastKnownSeq = 0;
  private streamCreated: string | undefined;
  /** Incremented by each resync, so that messages still in flight from the old stream are ignored. */
  private generation = 0;
  private streamMissing = false;
  private missingStreamLogged = false;
  private syncedSinceStart = false;
  /** Applied sequence at the last probe that found the stream ahead, and how many probes in a row did. */
  private progress = { sequence: 0, probesBehind: 0 };
  private lastEventAt: number | undefined;
  private readonly requiredMaxAge: number | undefined;
  private maxAgeChecked = false;

  constructor(options: FollowerOptions) {
    this.stream = options.stream;
    this.logger = options.logger.child({ stream: options.stream });
    this.metrics = options.metrics;
    this.now = options.now;
    this.onMessage = options.onMessage;
    this.signal = options.signal;
    this.startedAt = this.now();
    this.tracker = new StalenessTracker(this.now);
    this.requiredMaxAge = options.requiredMaxAge;
  }

  /** Resumes from a snapshot: applied up to `sequence` and current as of `confirmedAt`. */
  restore(position: FollowerPosition, confirmedAt: number | undefined): void {
    this.appliedSeq = position.sequence;
    this.streamCreated = position.created;
    this.tracker = new StalenessTracker(this.now, confirmedAt);
  }

  position(): FollowerPosition {
    return { sequence: this.appliedSeq, created: this.streamCreated };
  }

  stalenessSeconds(): number {
    return this.tracker.stalenessSeconds();
  }

  confirmedAt(): number | undefined {
    return this.tracker.confirmedAtMs();
  }

  synced(): boolean {
    return this.syncedSinceStart;
  }

  appliedSequence(): number {
    return this.appliedSeq;
  }

  lastKnownSequence(): number {
    return this.lastKnownSeq;
  }

  /** Time (milliseconds) the last event was read, or undefined. */
  lastEventTime(): number | undefined {
    return this.lastEventAt;
  }

  /** Records that the message at `sequence` of `generation` was applied or skipped. */
  markApplied(sequence: number, generation: number): void {
    this.lastEventAt = this.now();
    if (generation !== this.generation) return;
    this.appliedSeq = sequence;
    this.tracker.applied(sequence);
    this.noteConfirmation();
  }

  /** Creates the ordered consumer and applies its messages, starting again after each failure or resync. */
  async consumeUntilClosed(client: JetStreamClient): Promise<void> {
    for (let attempt = 1; !this.signal.aborted; attempt++) {
      const generation = this.generation;
      try {
        const startAt = this.appliedSeq + 1;
        this.consumer = await client.consumers.get(this.stream, startAt > 1 ? { opt_start_seq: startAt } : {});
        // Short pulls with frequent heartbeats, so that a consumer lost with a server is noticed in seconds.
        this.messages = await this.consumer.consume({ max_messages: 256, expires: 10_000, idle_heartbeat: 2_000 });
        this.missingStreamLogged = false;
        this.logger.info({ startSeq: startAt }, 'reading revocation stream');
        attempt = 0;
        const window: { sequence: number; verified: Promise<unknown> }[] = [];
        const applyWindow = async () => {
          const replaying = window.length > 1;
          while (window.length > 0) {
            const { sequence, verified } = window.shift()!;
            this.onMessage.apply(await verified, sequence, this, replaying);
            this.markApplied(sequence, generation);
          }
        };
        for await (const message of this.messages) {
          window.push({ sequence: message.seq, verified: this.onMessage.verify(message.string()) });
          if (window.length >= VERIFY_WINDOW || message.info.pending === 0) await applyWindow();
        }
        await applyWindow();
      } catch (error) {
        this.logConsumerFailure(error);
        await delay(retryDelay(attempt), undefined, { signal: this.signal }).catch(() => undefined);
      }
    }
  }

  async stop(): Promise<void> {
    await this.messages?.close().catch(() => undefined);
  }

  /** Asks the server where the stream ends; confirms the follower current, or starts a resync. */
  async probe(manager: JetStreamManager): Promise<void> {
    if (this.probing || this.signal.aborted) return;
    this.probing = true;
    const sentAt = this.now();
    try {
      const info = await manager.streams.info(this.stream);
      const lastSeq = info.state.last_seq;
      if (this.streamCreated === undefined) this.streamCreated = info.created;
      if (info.created !== this.streamCreated || lastSeq < this.appliedSeq) {
        this.resync(info.created !== this.streamCreated ? 'stream was recreated' : 'stream sequence went backwards', info.created, lastSeq);
        return;
      }
      this.noteStreamFound();
      this.checkMaxAge(info.config.max_age);
      this.lastKnownSeq = lastSeq;
      if (this.appliedSeq >= lastSeq) {
        this.confirm(sentAt);
        return;
      }
      // Messages past the applied sequence may all have aged out or been deleted. The consumer's
      // pending count shows whether any is left to deliver.
      const consumerInfo = await this.consumer?.info().catch(() => undefined);
      if (consumerInfo && consumerInfo.num_pending === 0) {
        this.tracker.expect(sentAt, consumerInfo.delivered.stream_seq, this.appliedSeq);
        this.noteConfirmation();
        return;
      }
      this.checkConsumerProgress(consumerInfo !== undefined);
    } catch (error) {
      if (isStreamNotFound(error)) this.noteStreamMissing();
      else this.logger.debug({ err: describeError(error) }, 'revocation stream probe failed');
    } finally {
      this.probing = false;
    }
  }

  /**
   * Logs an error once when the stream drops messages sooner than a token can live: revocations
   * would then age out while tokens they match are still accepted, for proxies that start later.
   */
  private checkMaxAge(maxAgeNanos: number): void {
    if (this.maxAgeChecked || this.requiredMaxAge === undefined) return;
    this.maxAgeChecked = true;
    const maxAge = maxAgeNanos / 1_000_000;
    if (maxAge === 0 || maxAge >= this.requiredMaxAge) return;
    this.logger.error(
      { maxAgeMs: maxAge, requiredMs: this.requiredMaxAge },
      'revocation stream keeps messages for less than the longest token lifetime plus clock tolerance; raise it with "revgate stream init --config"',
    );
  }

  private confirm(sentAt: number): void {
    this.tracker.confirm(sentAt);
    this.noteConfirmation();
  }

  /** Logs the first confirmation since start, which makes the proxy ready. */
  private noteConfirmation(): void {
    if (this.syncedSinceStart || !this.tracker.confirmedSince(this.startedAt)) return;
    this.syncedSinceStart = true;
    this.logger.info({ appliedSeq: this.appliedSeq }, 'revocation stream in sync');
  }

  /**
   * Recreates the consumer when the stream responds but the follower stays behind it for several
   * probes. The ordered consumer would notice a lost consumer by itself only after missing
   * heartbeats, which takes longer.
   */
  private checkConsumerProgress(consumerAnswered: boolean): void {
    if (this.appliedSeq !== this.progress.sequence) {
      this.progress = { sequence: this.appliedSeq, probesBehind: 0 };
      return;
    }
    this.progress.probesBehind++;
    if (this.progress.probesBehind < PROBES_BEFORE_RESTART) return;

    this.logger.warn({ appliedSeq: this.appliedSeq, lastKnownSeq: this.lastKnownSeq, consumerAnswered }, 'revocation consumer makes no progress; recreating it');
    this.progress.probesBehind = 0;
    void this.messages?.close();
  }

  private resync(reason: string, created: string, lastSeq: number): void {
    this.metrics?.replicaResyncs.inc();
    this.logger.warn(
      { reason, appliedSeq: this.appliedSeq, streamLastSeq: lastSeq, created },
      'revocation stream changed; replaying it from the start and keeping existing entries',
    );
    this.generation++;
    this.streamCreated = created;
    this.appliedSeq = 0;
    this.lastKnownSeq = lastSeq;
    this.tracker.clearAwaited();
    void this.messages?.close();
  }

  /** Warns once when the stream disappears; the staleness it causes is what alerts. */
  private noteStreamMissing(): void {
    if (this.streamMissing) return;
    this.streamMissing = true;
    this.logger.warn({ appliedSeq: this.appliedSeq }, 'revocation stream not found; recreate it with "revgate stream init"');
  }

  private noteStreamFound(): void {
    if (!this.streamMissing) return;
    this.streamMissing = false;
    this.logger.warn('revocation stream found again');
  }

  private logConsumerFailure(error: unknown): void {
    if (this.signal.aborted) return;
    if (isStreamNotFound(error)) {
      if (!this.missingStreamLogged) this.logger.warn('revocation stream not found; create it with "revgate stream init"');
      this.missingStreamLogged = true;
      return;
    }
    this.logger.warn({ err: describeError(error) }, 'revocation consumer failed; retrying');
  }
}

function retryDelay(attempt: number): number {
  const base = Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** Math.min(attempt, 5));
  return base / 2 + Math.random() * (base / 2);
}
