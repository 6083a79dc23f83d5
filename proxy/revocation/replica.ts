/**
 * The revocation replica: follows the JetStream revocation stream and keeps the denylist current.
 *
 * On start it connects to NATS in the background (the proxy serves meanwhile), replays the stream
 * from the first message with an ordered consumer, and then keeps consuming live. A probe loop
 * asks the server where the stream ends and feeds the staleness tracker; the same probe notices a
 * stream that was deleted and recreated (its creation time changed, or its last sequence went
 * below what was applied) and then replays the new stream from the start. Entries already in the
 * denylist are kept across such a replay, so a lost stream never un-revokes a token early.
 */
import { setTimeout as delay } from 'node:timers/promises';

import { jetstream, jetstreamManager, type ConsumerMessages, type Consumer, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { JWTVerifyGetKey } from 'jose';

import type { RevocationConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, ReplicaGauges } from '../observability/metrics.js';
import type { Denylist } from './denylist.js';
import { EventRejectedError, verifyRevocationEvent } from './event.js';
import { StalenessTracker } from './staleness.js';
import { natsConnectionOptions } from './nats-connection.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { isStreamNotFound } from './stream.js';

export interface ReplicaOptions {
  config: RevocationConfig;
  denylist: Denylist;
  responderKeys: JWTVerifyGetKey;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/** Probes in a row that may find the replica behind and not moving before its consumer is recreated. */
const PROBES_BEFORE_RESTART = 3;

/** Longest pause between attempts to create the consumer when the stream is missing or NATS fails. */
const MAX_RETRY_DELAY_MS = 5000;

export class RevocationReplica implements ReplicaGauges {
  private readonly config: RevocationConfig;
  private readonly denylist: Denylist;
  private readonly responderKeys: JWTVerifyGetKey;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly now: () => number;
  private tracker: StalenessTracker;

  private connection: NatsConnection | undefined;
  private client: JetStreamClient | undefined;
  private manager: JetStreamManager | undefined;
  private consumer: Consumer | undefined;
  private messages: ConsumerMessages | undefined;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  /** Aborts pending retry pauses when the replica closes. */
  private readonly closing = new AbortController();
  private probing = false;
  private connected = false;
  private running: Promise<void> | undefined;

  private appliedSeq = 0;
  private lastKnownSeq = 0;
  private streamCreated: string | undefined;
  /** Incremented by each resync, so that messages still in flight from the old stream are ignored. */
  private generation = 0;
  private missingStreamLogged = false;
  private streamMissing = false;
  private saving = false;
  private readonly startedAt: number;
  private syncedSinceStart = false;
  /** Applied sequence at the last probe that found the replica behind, and how many probes in a row did. */
  private progress = { sequence: 0, probesBehind: 0 };
  /** Sequence and entry count of the last snapshot written, to skip writes when nothing changed. */
  private savedVersion = '';

  constructor(options: ReplicaOptions) {
    this.config = options.config;
    this.denylist = options.denylist;
    this.responderKeys = options.responderKeys;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
    this.tracker = new StalenessTracker(this.now);
    this.startedAt = this.now();
  }

  /**
   * Loads the snapshot, if one is configured and valid, then starts connecting, replaying and
   * probing in the background. Returns once the snapshot is loaded; never waits for NATS.
   */
  async start(): Promise<void> {
    await this.loadSnapshot();
    this.running = this.run().catch((error: unknown) => {
      this.logger.error({ err: describeError(error) }, 'revocation replica stopped unexpectedly');
    });
    this.timers.push(setInterval(() => void this.probe(), this.config.probeInterval));
    this.timers.push(setInterval(() => this.prune(), this.config.pruneInterval));
    const { snapshot } = this.config;
    if (snapshot) this.timers.push(setInterval(() => void this.saveSnapshot(), snapshot.interval));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.messages?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    await this.running;
    await this.saveSnapshot();
  }

  stalenessSeconds(): number {
    return this.tracker.stalenessSeconds();
  }

  /** True once the replica has been confirmed current since this process started. */
  synced(): boolean {
    return this.syncedSinceStart;
  }

  appliedSequence(): number {
    return this.appliedSeq;
  }

  lastKnownSequence(): number {
    return this.lastKnownSeq;
  }

  entriesByKind(): Record<string, number> {
    return this.denylist.countByKind();
  }

  natsConnected(): boolean {
    return this.connected;
  }

  connectedServer(): string | undefined {
    return this.connected ? this.connection?.getServer() : undefined;
  }

  private async run(): Promise<void> {
    const connection = await this.connect();
    if (!connection) return;
    this.connection = connection;
    this.connected = true;
    this.logger.info({ server: connection.getServer(), stream: this.config.stream }, 'connected to NATS');
    void this.watchConnection(connection);

    // The request timeout bounds each probe, so that a hung server shows up as staleness quickly.
    const timeout = Math.max(1000, this.config.probeInterval);
    this.client = jetstream(connection, { timeout });
    this.manager = await jetstreamManager(connection, { timeout, checkAPI: false });
    await this.consumeUntilClosed(this.client);
  }

  private async connect(): Promise<NatsConnection | undefined> {
    const { nats } = this.config;
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        const connection = await connect({
          ...(await natsConnectionOptions(nats)),
          maxReconnectAttempts: -1,
          reconnectTimeWait: nats.reconnectWait,
          reconnectJitter: Math.round(nats.reconnectWait / 2),
          // Ping often enough that a hung server (alive socket, no answers) is left within seconds.
          pingInterval: 5000,
          maxPingOut: 2,
        });
        if (this.closed) {
          await connection.close();
          return undefined;
        }
        return connection;
      } catch (error) {
        if (attempt === 1 || attempt % 20 === 0) {
          this.logger.warn({ err: describeError(error), servers: nats.servers, attempt }, 'cannot connect to NATS; retrying');
        }
        await this.pause(retryDelay(attempt));
      }
    }
    return undefined;
  }

  private async watchConnection(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.logger.warn({ server: status.server, appliedSeq: this.appliedSeq }, 'disconnected from NATS; reconnecting');
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.metrics?.natsReconnects.inc();
        this.logger.warn({ server: status.server, appliedSeq: this.appliedSeq, lastKnownSeq: this.lastKnownSeq }, 'reconnected to NATS');
      }
    }
  }

  /** Creates the ordered consumer and applies its messages, starting again after each failure or resync. */
  private async consumeUntilClosed(client: JetStreamClient): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      const generation = this.generation;
      try {
        const startAt = this.appliedSeq + 1;
        this.consumer = await client.consumers.get(this.config.stream, startAt > 1 ? { opt_start_seq: startAt } : {});
        // Short pulls with frequent heartbeats, so that a consumer lost with a server is noticed in seconds.
        this.messages = await this.consumer.consume({ max_messages: 256, expires: 10_000, idle_heartbeat: 2_000 });
        this.missingStreamLogged = false;
        this.logger.info({ stream: this.config.stream, startSeq: startAt }, 'reading revocation stream');
        attempt = 0;
        for await (const message of this.messages) {
          await this.applyMessage(message.seq, message.string(), generation);
        }
      } catch (error) {
        this.logConsumerFailure(error);
        await this.pause(retryDelay(attempt));
      }
    }
  }

  private logConsumerFailure(error: unknown): void {
    if (this.closed) return;
    if (isStreamNotFound(error)) {
      if (!this.missingStreamLogged) {
        this.logger.warn({ stream: this.config.stream }, 'revocation stream not found; create it with "revgate stream init"');
      }
      this.missingStreamLogged = true;
      return;
    }
    this.logger.warn({ err: describeError(error), stream: this.config.stream }, 'revocation consumer failed; retrying');
  }

  private async applyMessage(sequence: number, compact: string, generation: number): Promise<void> {
    try {
      const event = await verifyRevocationEvent(compact, this.responderKeys);
      const result = this.denylist.apply(event);
      this.metrics?.revocationEvents.inc({ result: 'applied', reason: result === 'applied' ? 'ok' : result });
      this.logger.info(
        { seq: sequence, revocationId: event.id, kind: event.target.kind, iss: event.target.iss, signedBy: event.signedBy, result },
        'revocation applied',
      );
    } catch (error) {
      // Any failure skips the message: one bad message must never stop the stream from being applied.
      const reason = error instanceof EventRejectedError ? error.reason : 'malformed';
      this.metrics?.revocationEvents.inc({ result: 'rejected', reason });
      this.logger.warn({ seq: sequence, reason, detail: describeError(error) }, 'revocation event rejected');
    }

    if (generation !== this.generation) return;
    this.appliedSeq = sequence;
    this.tracker.applied(sequence);
    this.noteConfirmation();
  }

  private confirm(sentAt: number): void {
    this.tracker.confirm(sentAt);
    this.noteConfirmation();
  }

  /** Logs the first confirmation since start, which makes the proxy ready. */
  private noteConfirmation(): void {
    if (this.syncedSinceStart || !this.tracker.confirmedSince(this.startedAt)) return;
    this.syncedSinceStart = true;
    this.logger.info({ stream: this.config.stream, appliedSeq: this.appliedSeq, entries: this.denylist.size }, 'revocation replica in sync');
  }

  /** Asks the server where the stream ends; confirms the replica current, or starts a resync. */
  private async probe(): Promise<void> {
    if (this.probing || !this.manager || this.closed) return;
    this.probing = true;
    const sentAt = this.now();
    try {
      const info = await this.manager.streams.info(this.config.stream);
      const lastSeq = info.state.last_seq;
      if (this.streamCreated === undefined) this.streamCreated = info.created;
      if (info.created !== this.streamCreated || lastSeq < this.appliedSeq) {
        const reason = info.created !== this.streamCreated ? 'stream was recreated' : 'stream sequence went backwards';
        this.resync(reason, info.created, lastSeq);
        return;
      }
      this.noteStreamFound();
      this.lastKnownSeq = lastSeq;
      if (this.appliedSeq >= lastSeq) {
        this.confirm(sentAt);
        return;
      }
      // Messages past the applied sequence may all have been replaced or aged out; the consumer knows.
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
   * Recreates the consumer when the stream answers but the replica stays behind it for several
   * probes: the consumer was lost with a cluster node, or it stalled. The ordered consumer would
   * notice by itself only after missing heartbeats, which takes longer.
   */
  private checkConsumerProgress(consumerAnswered: boolean): void {
    if (this.appliedSeq !== this.progress.sequence) {
      this.progress = { sequence: this.appliedSeq, probesBehind: 0 };
      return;
    }
    this.progress.probesBehind++;
    if (this.progress.probesBehind < PROBES_BEFORE_RESTART) return;

    this.logger.warn(
      { stream: this.config.stream, appliedSeq: this.appliedSeq, lastKnownSeq: this.lastKnownSeq, consumerAnswered },
      'revocation consumer makes no progress; recreating it',
    );
    this.progress.probesBehind = 0;
    void this.messages?.close();
  }

  private resync(reason: string, created: string, lastSeq: number): void {
    this.metrics?.replicaResyncs.inc();
    this.logger.warn(
      { stream: this.config.stream, reason, appliedSeq: this.appliedSeq, streamLastSeq: lastSeq, created },
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
    this.logger.warn({ stream: this.config.stream, appliedSeq: this.appliedSeq }, 'revocation stream not found; recreate it with "revgate stream init"');
  }

  private noteStreamFound(): void {
    if (!this.streamMissing) return;
    this.streamMissing = false;
    this.logger.warn({ stream: this.config.stream }, 'revocation stream found again');
  }

  private async loadSnapshot(): Promise<void> {
    const file = this.config.snapshot?.path;
    if (file === undefined) return;
    const result = await readSnapshot(file, this.config.stream);
    if (result === undefined) {
      this.logger.info({ file }, 'no revocation snapshot yet; replaying the whole stream');
      return;
    }
    if ('problem' in result) {
      this.logger.warn({ file, problem: result.problem }, 'revocation snapshot ignored; replaying the whole stream');
      return;
    }
    const { state } = result;
    const imported = this.denylist.importRows(state.entries);
    this.appliedSeq = state.sequence;
    this.streamCreated = state.streamCreated;
    this.tracker = new StalenessTracker(this.now, state.confirmedAt ?? undefined);
    this.savedVersion = `${state.sequence}:${imported}`;
    this.logger.info(
      { file, sequence: state.sequence, entries: imported, confirmedAt: state.confirmedAt && new Date(state.confirmedAt).toISOString() },
      'revocation snapshot loaded; stale since it was confirmed until the stream confirms it again',
    );
  }

  private async saveSnapshot(): Promise<void> {
    const file = this.config.snapshot?.path;
    const version = `${this.appliedSeq}:${this.denylist.size}`;
    if (file === undefined || version === this.savedVersion || this.saving) return;
    this.saving = true;
    try {
      await writeSnapshot(file, {
        stream: this.config.stream,
        streamCreated: this.streamCreated,
        sequence: this.appliedSeq,
        confirmedAt: this.tracker.confirmedAtMs() ?? null,
        entries: this.denylist.exportRows(),
      });
      this.savedVersion = version;
    } catch (error) {
      this.logger.error({ file, err: describeError(error) }, 'cannot write revocation snapshot');
    } finally {
      this.saving = false;
    }
  }

  private async pause(milliseconds: number): Promise<void> {
    await delay(milliseconds, undefined, { signal: this.closing.signal }).catch(() => undefined);
  }

  private prune(): void {
    const dropped = this.denylist.prune();
    if (dropped > 0) this.logger.debug({ dropped }, 'dropped expired revocation entries');
  }
}

function retryDelay(attempt: number): number {
  const base = Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** Math.min(attempt, 5));
  return base / 2 + Math.random() * (base / 2);
}

