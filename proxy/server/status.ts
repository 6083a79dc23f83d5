/**
 * The `/status` document of the admin listener: what an operator needs to judge one proxy at a
 * glance. It contains stream positions, counts, times and config identity, never a token or a claim.
 * `revgate status` reads the same type.
 */
import { VERSION } from '../version.js';
import type { ReloadRecord } from './reload.js';

/** One revocation stream as the replica follows it. */
export interface StreamStatus {
  stream: string;
  appliedSequence: number;
  lastKnownSequence: number;
  /** null before the stream was first confirmed current (staleness +Inf). */
  stalenessSeconds: number | null;
  /** ISO 8601 time the replica last read an event from this stream, or null. */
  lastEventAt: string | null;
}

export interface StatusDocument {
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  ready: boolean;
  /** Reason `/readyz` responds 503, or null when it responds 200. */
  notReadyReason: string | null;
  /** True from the first SIGTERM until the process exits. */
  shuttingDown: boolean;
  requestsInFlight: number;
  /** Main stream name; `streams` lists every stream the replica follows. */
  stream: string;
  synced: boolean;
  /** Staleness of the stalest stream; null before every stream was first confirmed current. */
  stalenessSeconds: number | null;
  maxStalenessSeconds: number;
  /** Positions in the main stream. */
  appliedSequence: number;
  lastKnownSequence: number;
  streams: StreamStatus[];
  /** Active denylist entries by kind. */
  entries: Record<string, number>;
  lastEventAt: string | null;
  natsConnected: boolean;
  /** Host and port of the NATS server the replica is connected to, or null. */
  natsServer: string | null;
  /** SHA-256 of the config file last loaded (at start or by a successful reload). */
  configDigest: string;
  config: {
    file: string;
    loadedAt: string;
    /** Changed fields of the loaded file that take effect only after a restart. */
    restartRequired: string[];
    lastReload: ReloadRecord | null;
  };
}

/** The replica state that the status document shows. */
export interface ReplicaStatusSource {
  synced(): boolean;
  stalenessSeconds(): number;
  appliedSequence(): number;
  lastKnownSequence(): number;
  entriesByKind(): Record<string, number>;
  natsConnected(): boolean;
  connectedServer(): string | undefined;
  streams(): { stream: string; appliedSequence: number; lastKnownSequence: number; stalenessSeconds: number; lastEventTime: number | undefined }[];
}

/** The gateway state that the status document shows. */
export interface GatewayStatusSource {
  startedAt: number;
  notReadyReason(): string | undefined;
  shuttingDown(): boolean;
  requestsInFlight(): number;
  stream: string;
  maxStalenessMs(): number;
  config(): { file: string; digest: string; loadedAt: number; restartRequired: readonly string[]; lastReload: ReloadRecord | undefined };
}

export function buildStatusDocument(gateway: GatewayStatusSource, replica: ReplicaStatusSource, now: number): StatusDocument {
  const notReady = gateway.notReadyReason();
  const config = gateway.config();
  const streams = replica.streams().map(streamStatus);
  return {
    version: VERSION,
    startedAt: new Date(gateway.startedAt).toISOString(),
    uptimeSeconds: Math.round((now - gateway.startedAt) / 10) / 100,
    ready: notReady === undefined,
    notReadyReason: notReady ?? null,
    shuttingDown: gateway.shuttingDown(),
    requestsInFlight: gateway.requestsInFlight(),
    stream: gateway.stream,
    synced: replica.synced(),
    stalenessSeconds: finiteOrNull(replica.stalenessSeconds()),
    maxStalenessSeconds: gateway.maxStalenessMs() / 1000,
    appliedSequence: replica.appliedSequence(),
    lastKnownSequence: replica.lastKnownSequence(),
    streams,
    entries: replica.entriesByKind(),
    lastEventAt: latest(streams.map((stream) => stream.lastEventAt)),
    natsConnected: replica.natsConnected(),
    natsServer: replica.connectedServer() ?? null,
    configDigest: config.digest,
    config: {
      file: config.file,
      loadedAt: new Date(config.loadedAt).toISOString(),
      restartRequired: [...config.restartRequired],
      lastReload: config.lastReload ?? null,
    },
  };
}

function streamStatus(stream: ReturnType<ReplicaStatusSource['streams']>[number]): StreamStatus {
  return {
    stream: stream.stream,
    appliedSequence: stream.appliedSequence,
    lastKnownSequence: stream.lastKnownSequence,
    stalenessSeconds: finiteOrNull(stream.stalenessSeconds),
    lastEventAt: stream.lastEventTime === undefined ? null : new Date(stream.lastEventTime).toISOString(),
  };
}

/** JSON has no Infinity, so an unconfirmed replica's staleness is written as null. */
function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null;
}

/** Returns the latest of several ISO 8601 UTC times, which sort as strings. */
function latest(times: (string | null)[]): string | null {
  const known = times.filter((time): time is string => time !== null).sort();
  return known.at(-1) ?? null;
}
