/**
 * Prometheus metrics. Every metric lives on a registry passed in by the caller, never on
 * prom-client's global one, so that tests and several proxies in one process stay apart. Labels
 * take values from closed sets or from the config (route names), never from requests.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import type { RejectionReason } from '../errors.js';

export type Decision = 'allowed' | 'rejected' | 'error';

/** Numbers that the replica reports when Prometheus scrapes. */
export interface ReplicaGauges {
  stalenessSeconds(): number;
  synced(): boolean;
  /** Per revocation stream: the last sequence applied or skipped. */
  streams(): { stream: string; appliedSequence: number }[];
  entriesByKind(): Record<string, number>;
  natsConnected(): boolean;
}

/** Numbers that the running gateway reports when Prometheus scrapes. */
export interface GatewayGauges {
  /** Client requests received whose response has not been sent in full. */
  requestsInFlight(): number;
  /** True when `/readyz` responds 200. */
  ready(): boolean;
  /** `revocation.maxStaleness` of the running config, in seconds. */
  maxStalenessSeconds(): number;
  /** Time the replica last read a revocation event, in milliseconds since the epoch. */
  lastEventTime(): number | undefined;
}

/** Cache counters of a TokenVerifier, which counts them itself. */
export interface VerificationCacheCounts {
  readonly cacheHits: number;
  readonly cacheMisses: number;
}

/** Outcome of one JWT verification, as the verification histogram labels it. */
export type VerificationResult = 'valid' | 'rejected' | 'keys_unavailable' | 'error';

export class Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'decision' | 'reason'>;
  readonly requestDuration: Histogram<'route' | 'decision'>;
  readonly upstreamErrors: Counter<'code'>;
  readonly jwksFetches: Counter<'issuer' | 'result'>;
  readonly revocationEvents: Counter<'result' | 'reason'>;
  readonly natsReconnects: Counter;
  readonly replicaResyncs: Counter;
  readonly upstreamDuration: Histogram<'route'>;
  readonly verificationDuration: Histogram<'result'>;
  readonly configReloads: Counter<'result'>;
  private readonly lastReloadSuccessful: Gauge;
  private readonly lastReloadSuccessTime: Gauge;
  private replica: ReplicaGauges | undefined;
  private gateway: GatewayGauges | undefined;
  private verifier: VerificationCacheCounts | undefined;
  /** Cache counts of verifiers replaced by a reload, so that the counters never go down. */
  private retiredCacheCounts = { cacheHits: 0, cacheMisses: 0 };

  constructor(registry: Registry, version: string) {
    this.registry = registry;
    const registers = [registry];

    this.requests = new Counter({
      name: 'revgate_requests_total',
      help: 'Requests handled, by route name, decision and reason (a rejection reason, or "ok").',
      labelNames: ['route', 'decision', 'reason'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'revgate_request_duration_seconds',
      help: 'Time from receiving a request to sending the response headers, in seconds.',
      labelNames: ['route', 'decision'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.jwksFetches = new Counter({
      name: 'revgate_jwks_fetches_total',
      help: 'Fetches of remote issuer JWKS, by issuer (from the config) and result (success or failure).',
      labelNames: ['issuer', 'result'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'revgate_upstream_errors_total',
      help: 'Upstream requests that failed, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.revocationEvents = new Counter({
      name: 'revgate_revocation_events_total',
      help: 'Revocation events read from the stream, by result (applied or rejected) and reason.',
      labelNames: ['result', 'reason'],
      registers,
    });
    this.natsReconnects = new Counter({
      name: 'revgate_nats_reconnects_total',
      help: 'Reconnections to a NATS server after a lost connection.',
      registers,
    });
    this.replicaResyncs = new Counter({
      name: 'revgate_replica_resyncs_total',
      help: 'Full replays of the revocation stream after it was found deleted or recreated.',
      registers,
    });

    this.upstreamDuration = new Histogram({
      name: 'revgate_upstream_duration_seconds',
      help: 'Time from sending a request upstream until its response headers arrived, in seconds, by route name.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.verificationDuration = new Histogram({
      name: 'revgate_jwt_verification_duration_seconds',
      help: 'Time to verify a bearer JWT, cache hits included, in seconds, by result (valid, rejected, keys_unavailable or error).',
      labelNames: ['result'],
      buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5],
      registers,
    });
    this.configReloads = new Counter({
      name: 'revgate_config_reloads_total',
      help: 'Config reloads requested by SIGHUP or POST /reload, by result (success or failure).',
      labelNames: ['result'],
      registers,
    });
    this.lastReloadSuccessful = new Gauge({
      name: 'revgate_config_last_reload_successful',
      help: '1 when the last config reload succeeded or none was requested since start, 0 when it failed and the previous config still runs.',
      registers,
    });
    this.lastReloadSuccessful.set(1);
    this.lastReloadSuccessTime = new Gauge({
      name: 'revgate_config_last_reload_success_timestamp_seconds',
      help: 'Unix time at which the running config was loaded, at start or by the last successful reload.',
      registers,
    });
    this.lastReloadSuccessTime.setToCurrentTime();

    const metrics = this;
    const replicaGauge = (name: string, help: string, read: (replica: ReplicaGauges) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const replica = metrics.replica;
          this.set(replica === undefined ? Number.NaN : read(replica));
        },
      });

    replicaGauge(
      'revgate_replica_staleness_seconds',
      "Seconds since the revocation replica was last confirmed to hold the stream's last message; +Inf before the first sync.",
      (replica) => replica.stalenessSeconds(),
    );
    replicaGauge(
      'revgate_replica_synced',
      '1 once the revocation replica has completed its first sync with the stream, else 0.',
      (replica) => (replica.synced() ? 1 : 0),
    );
    new Gauge({
      name: 'revgate_replica_applied_sequence',
      help: 'Sequence of the last revocation event the replica applied or skipped, per stream.',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const { stream, appliedSequence } of metrics.replica?.streams() ?? []) this.set({ stream }, appliedSequence);
      },
    });
    replicaGauge('revgate_nats_connected', '1 while connected to a NATS server, else 0.', (replica) =>
      replica.natsConnected() ? 1 : 0,
    );
    new Gauge({
      name: 'revgate_revocation_entries',
      help: 'Active revocation entries in the replica, by kind.',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, count] of Object.entries(metrics.replica?.entriesByKind() ?? {})) this.set({ kind }, count);
      },
    });
    this.registerGatewayGauges(registers);
    this.registerCacheCounters(registers);
    new Gauge({ name: 'revgate_build_info', help: 'Always 1; the version label tells which build runs.', labelNames: ['version'], registers }).set({ version }, 1);

    collectDefaultMetrics({ register: registry });
  }

  /** Connects the replica whose state the gauges report. */
  observeReplica(replica: ReplicaGauges): void {
    this.replica = replica;
  }

  /** Connects the gateway whose state the request, readiness and event-time gauges report. */
  observeGateway(gateway: GatewayGauges): void {
    this.gateway = gateway;
  }

  /**
   * Connects the verifier whose cache the cache counters report. The counts of the verifier it
   * replaces are kept as of this call. Lookups that a replaced verifier still serves for requests
   * in flight are not counted.
   */
  observeVerifier(verifier: VerificationCacheCounts): void {
    if (this.verifier) {
      this.retiredCacheCounts.cacheHits += this.verifier.cacheHits;
      this.retiredCacheCounts.cacheMisses += this.verifier.cacheMisses;
    }
    this.verifier = verifier;
  }

  recordJwksFetch(issuer: string, result: 'success' | 'failure'): void {
    this.jwksFetches.inc({ issuer, result });
  }

  recordRequest(route: string, decision: Decision, reason: RejectionReason | 'ok', seconds: number): void {
    this.requests.inc({ route, decision, reason });
    this.requestDuration.observe({ route, decision }, seconds);
  }

  recordReload(result: 'success' | 'failure'): void {
    this.configReloads.inc({ result });
    this.lastReloadSuccessful.set(result === 'success' ? 1 : 0);
    if (result === 'success') this.lastReloadSuccessTime.setToCurrentTime();
  }

  private registerGatewayGauges(registers: Registry[]): void {
    const metrics = this;
    const gatewayGauge = (name: string, help: string, read: (gateway: GatewayGauges) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const gateway = metrics.gateway;
          this.set(gateway === undefined ? Number.NaN : read(gateway));
        },
      });

    gatewayGauge('revgate_requests_in_flight', 'Client requests received and not yet answered in full.', (gateway) => gateway.requestsInFlight());
    gatewayGauge('revgate_ready', '1 while /readyz answers 200, else 0 (not synced, stale with readiness.failWhenStale, or shutting down).', (gateway) =>
      gateway.ready() ? 1 : 0,
    );
    gatewayGauge(
      'revgate_replica_max_staleness_seconds',
      'revocation.maxStaleness of the running config, in seconds: the staleness above which privileged routes answer 503.',
      (gateway) => gateway.maxStalenessSeconds(),
    );
    gatewayGauge(
      'revgate_revocation_last_event_timestamp_seconds',
      'Unix time at which the replica last read a revocation event; 0 when it has read none since start.',
      (gateway) => (gateway.lastEventTime() ?? 0) / 1000,
    );
  }

  private registerCacheCounters(registers: Registry[]): void {
    const metrics = this;
    const cacheCounter = (name: string, help: string, field: keyof VerificationCacheCounts) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const current = metrics.verifier?.[field] ?? 0;
          // prom-client counters have no set(); reset and inc report the running total.
          this.reset();
          this.inc(metrics.retiredCacheCounts[field] + current);
        },
      });

    cacheCounter('revgate_verification_cache_hits_total', 'Bearer tokens whose verification result came from the cache.', 'cacheHits');
    cacheCounter('revgate_verification_cache_misses_total', 'Bearer tokens verified in full because the cache held no result for them.', 'cacheMisses');
  }
}
