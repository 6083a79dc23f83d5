/**
 * The mutable state of a running gateway: the config in effect and whether it is shutting down,
 * plus the values that readiness, `/status` and the gateway gauges derive from them.
 */
import type { LoadedConfig } from '../config/load.js';
import type { GatewayGauges } from '../observability/metrics.js';
import { notReadyReason } from './readiness.js';
import type { ReloadRecord } from './reload.js';
import type { GatewayStatusSource, ReplicaStatusSource } from './status.js';

export interface GatewayStateParts {
  loaded: LoadedConfig;
  replica: ReplicaStatusSource;
  /** Client requests in flight on the proxy listener. */
  requestsInFlight: () => number;
  lastReload: () => ReloadRecord | undefined;
  now: () => number;
}

interface RunningConfig {
  loaded: LoadedConfig;
  loadedAt: number;
  restartRequired: readonly string[];
}

export class GatewayState implements GatewayStatusSource, GatewayGauges {
  readonly startedAt: number;
  readonly stream: string;
  private readonly parts: GatewayStateParts;
  private running: RunningConfig;
  private stopping = false;

  constructor(parts: GatewayStateParts) {
    this.parts = parts;
    this.startedAt = parts.now();
    this.stream = parts.loaded.config.revocation.stream;
    this.running = { loaded: parts.loaded, loadedAt: this.startedAt, restartRequired: [] };
  }

  /** The config in effect: the reloadable fields of the last file loaded, the rest as at start. */
  get loaded(): LoadedConfig {
    return this.running.loaded;
  }

  replaceConfig(loaded: LoadedConfig, restartRequired: readonly string[]): void {
    this.running = { loaded, loadedAt: this.parts.now(), restartRequired };
  }

  /** Marks the gateway as shutting down, which makes it not ready at once. */
  beginShutdown(): void {
    this.stopping = true;
  }

  shuttingDown(): boolean {
    return this.stopping;
  }

  notReadyReason(): string | undefined {
    const { replica } = this.parts;
    return notReadyReason({
      shuttingDown: this.stopping,
      synced: replica.synced(),
      stalenessSeconds: replica.stalenessSeconds(),
      revocation: this.loaded.config.revocation,
    });
  }

  ready(): boolean {
    return this.notReadyReason() === undefined;
  }

  requestsInFlight(): number {
    return this.parts.requestsInFlight();
  }

  maxStalenessMs(): number {
    return this.loaded.config.revocation.maxStaleness;
  }

  maxStalenessSeconds(): number {
    return this.maxStalenessMs() / 1000;
  }

  lastEventTime(): number | undefined {
    const times = this.parts.replica.streams().flatMap((stream) => (stream.lastEventTime === undefined ? [] : [stream.lastEventTime]));
    return times.length === 0 ? undefined : Math.max(...times);
  }

  config() {
    const { loaded, loadedAt, restartRequired } = this.running;
    return { file: loaded.source, digest: loaded.digest, loadedAt, restartRequired, lastReload: this.parts.lastReload() };
  }
}
