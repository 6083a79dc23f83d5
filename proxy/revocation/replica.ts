/**
 * The revocation replica: keeps the denylist current from the two revocation streams (the main
 * one and the one for revocations that last until lifted; stream.ts explains why there are two).
 *
 * On start it loads the local snapshot if one is configured, then connects to NATS in the
 * background (the proxy serves meanwhile) and runs one StreamFollower per stream. The replica is
 * as stale as its stalest stream. Entries already held are kept when a stream is replayed after
 * being recreated, so a lost stream never lifts a revocation early.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { setTimeout as delay } from 'node:timers/promises';

import type { RevocationConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, ReplicaGauges } from '../observability/metrics.js';
import type { Denylist } from './denylist.js';
import { EventRejectedError, verifyRevocationEvent, type EventRejection, type ResponderKeys, type VerifiedEvent } from './event.js';
import { natsConnectionOptions } from './nats-connection.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import { StreamFollower } from './stream-follower.js';
import { streamNames } from './stream.js';

/** A verified event, or why it was rejected. */
type Verification = { event: VerifiedEvent } | { reason: EventRejection; detail: string };

export interface ReplicaOptions {
  config: RevocationConfig;
  denylist: Denylist;
  responderKeys: ResponderKeys;
  logger: Logger;
  metrics?: Metrics;
  now?: () => number;
  /** Shortest message age (milliseconds) the main stream must keep; checked once, with an error logged. */
  requiredMaxAge?: number;
}

export class RevocationReplica implements ReplicaGauges {
  private readonly config: RevocationConfig;
  private readonly denylist: Denylist;
  private responderKeys: ResponderKeys;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly now: () => number;
  private readonly followers: StreamFollower[];
  /** Aborts consumers and retry pauses when the replica closes. */
  private readonly closing = new AbortController();

  private connection: NatsConnection | undefined;
  private manager: JetStreamManager | undefined;
  private timers: NodeJS.Timeout[] = [];
  private connected = false;
  private running: Promise<unknown> | undefined;
  private saving = false;
  /** Sequences and entry count of the last snapshot written, to skip writes when nothing changed. */
  private savedVersion = '';

  constructor(options: ReplicaOptions) {
    this.config = options.config;
    this.denylist = options.denylist;
    this.responderKeys = options.responderKeys;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
    this.followers = streamNames(this.config.stream).map(
      (stream, index) =>
        new StreamFollower({
          stream,
          requiredMaxAge: index === 0 ? options.requiredMaxAge : undefined,
          logger: this.logger,
          metrics: this.metrics,
          now: this.now,
          signal: this.closing.signal,
          onMessage: { verify: (data) => this.verifyMessage(data), apply: (verified, sequence, follower, replaying) => this.applyMessage(verified as Verification, sequence, follower, replaying) },
        }),
    );
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
    this.closing.abort();
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.all(this.followers.map((follower) => follower.stop()));
    await this.connection?.close().catch(() => undefined);
    await this.running;
    await this.saveSnapshot();
  }

  /** Replaces the keys that verify events; events read from now on use them. */
  updateResponderKeys(keys: ResponderKeys): void {
    this.responderKeys = keys;
  }

  /** Seconds since the stalest stream was last confirmed current; Infinity while one never was. */
  stalenessSeconds(): number {
    return Math.max(...this.followers.map((follower) => follower.stalenessSeconds()));
  }

  /** True once every stream has been confirmed current since this process started. */
  synced(): boolean {
    return this.followers.every((follower) => follower.synced());
  }

  /** Applied sequence of the main stream. */
  appliedSequence(): number {
    return this.followers[0]!.appliedSequence();
  }

  lastKnownSequence(): number {
    return this.followers[0]!.lastKnownSequence();
  }

  /** Per stream: applied and last known sequence, staleness and the time of the last event. */
  streams(): { stream: string; appliedSequence: number; lastKnownSequence: number; stalenessSeconds: number; lastEventTime: number | undefined }[] {
    return this.followers.map((follower) => ({
      stream: follower.stream,
      appliedSequence: follower.appliedSequence(),
      lastKnownSequence: follower.lastKnownSequence(),
      stalenessSeconds: follower.stalenessSeconds(),
      lastEventTime: follower.lastEventTime(),
    }));
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
    this.logger.info({ server: connection.getServer(), streams: this.followers.map((follower) => follower.stream) }, 'connected to NATS');
    void this.watchConnection(connection);

    // The request timeout bounds each probe, so that a hung server shows up as staleness quickly.
    const timeout = Math.max(1000, this.config.probeInterval);
    const client = jetstream(connection, { timeout });
    this.manager = await jetstreamManager(connection, { timeout, checkAPI: false });
    await Promise.all(this.followers.map((follower) => follower.consumeUntilClosed(client)));
  }

  private async connect(): Promise<NatsConnection | undefined> {
    const { nats } = this.config;
    for (let attempt = 1; !this.closing.signal.aborted; attempt++) {
      try {
        const connection = await connect({
          ...(await natsConnectionOptions(nats)),
          maxReconnectAttempts: -1,
          reconnectTimeWait: nats.reconnectWait,
          reconnectJitter: Math.round(nats.reconnectWait / 2),
          // Ping often enough that a hung server (open socket, no responses) is left within seconds.
          pingInterval: 5000,
          maxPingOut: 2,
        });
        if (this.closing.signal.aborted) {
          await connection.close();
          return undefined;
        }
        return connection;
      } catch (error) {
        if (attempt === 1 || attempt % 20 === 0) {
          this.logger.warn({ err: describeError(error), servers: nats.servers, attempt }, 'cannot connect to NATS; retrying');
        }
        await delay(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)), undefined, { signal: this.closing.signal }).catch(() => undefined);
      }
    }
    return undefined;
  }

  private async watchConnection(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      const sequences = Object.fromEntries(this.followers.map((follower) => [follower.stream, follower.appliedSequence()]));
      if (status.type === 'disconnect') {
        this.connected = false;
        this.logger.warn({ server: status.server, appliedSeq: sequences }, 'disconnected from NATS; reconnecting');
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.metrics?.natsReconnects.inc();
        this.logger.warn({ server: status.server, appliedSeq: sequences }, 'reconnected to NATS');
      }
    }
  }

  /** Verifies one event; a failure becomes a result, so one bad message never stops a stream. */
  private async verifyMessage(compact: string): Promise<Verification> {
    try {
      return { event: await verifyRevocationEvent(compact, this.responderKeys, this.now()) };
    } catch (error) {
      return { reason: error instanceof EventRejectedError ? error.reason : 'malformed', detail: describeError(error) };
    }
  }

  /**
   * Applies one verified event in stream order. While a backlog is replayed, each event is logged
   * at debug, because an info line per event doubled the time to replay 100,000 of them.
   */
  private applyMessage(verification: Verification, sequence: number, follower: StreamFollower, replaying: boolean): void {
    const context = { stream: follower.stream, seq: sequence };
    if ('reason' in verification) {
      this.metrics?.revocationEvents.inc({ result: 'rejected', reason: verification.reason });
      this.logger.warn({ ...context, reason: verification.reason, detail: verification.detail }, 'revocation event rejected');
      return;
    }

    const { event } = verification;
    const log = (fields: Record<string, unknown>, message: string) =>
      replaying ? this.logger.debug(fields, message) : this.logger.info(fields, message);
    const audit = { ...context, eventId: event.id, signedBy: event.signedBy, actor: event.actor, reason: event.reason };
    const { command } = event;
    if (command.action === 'ignore') {
      this.metrics?.revocationEvents.inc({ result: 'applied', reason: 'ignored' });
      log({ ...audit, detail: command.detail }, 'revocation event ignored');
      return;
    }
    if (command.action === 'lift') {
      const result = this.denylist.lift(command.revocationId, event.issuedAt);
      this.metrics?.revocationEvents.inc({ result: 'applied', reason: result === 'lifted' ? 'lifted' : `lift_${result}` });
      log({ ...audit, revocationId: command.revocationId, result }, 'revocation lift applied');
      return;
    }

    const { target } = command;
    const result = this.denylist.apply({ ...event, target });
    this.metrics?.revocationEvents.inc({ result: 'applied', reason: result === 'applied' ? 'ok' : result });
    log({ ...audit, revocationId: event.id, kind: target.kind, iss: target.iss, result }, 'revocation applied');
  }

  private async probe(): Promise<void> {
    const manager = this.manager;
    if (!manager) return;
    await Promise.all(this.followers.map((follower) => follower.probe(manager)));
  }

  private prune(): void {
    const dropped = this.denylist.prune();
    if (dropped > 0) this.logger.debug({ dropped }, 'dropped expired revocation entries');
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
    this.denylist.importLifts(state.lifts ?? []);
    for (const follower of this.followers) {
      const position = state.streams[follower.stream];
      if (position) follower.restore(position, state.confirmedAt ?? undefined);
    }
    this.savedVersion = this.snapshotVersion();
    this.logger.info(
      { file, streams: state.streams, entries: imported, confirmedAt: state.confirmedAt && new Date(state.confirmedAt).toISOString() },
      'revocation snapshot loaded; stale since it was confirmed until the streams confirm it again',
    );
  }

  private async saveSnapshot(): Promise<void> {
    const file = this.config.snapshot?.path;
    const version = this.snapshotVersion();
    if (file === undefined || version === this.savedVersion || this.saving) return;
    this.saving = true;
    try {
      const confirmations = this.followers.map((follower) => follower.confirmedAt());
      const oldest = confirmations.some((time) => time === undefined) ? null : Math.min(...(confirmations as number[]));
      await writeSnapshot(file, {
        stream: this.config.stream,
        streams: Object.fromEntries(this.followers.map((follower) => [follower.stream, follower.position()])),
        confirmedAt: oldest,
        entries: this.denylist.exportRows(),
        lifts: this.denylist.exportLifts(),
      });
      this.savedVersion = version;
    } catch (error) {
      this.logger.error({ file, err: describeError(error) }, 'cannot write revocation snapshot');
    } finally {
      this.saving = false;
    }
  }

  private snapshotVersion(): string {
    return `${this.followers.map((follower) => follower.appliedSequence()).join(',')}:${this.denylist.size}`;
  }
}
