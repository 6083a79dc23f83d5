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
  appliedSequence(): number;
  entriesByKind(): Record<string, number>;
  natsConnected(): boolean;
}

export class Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'decision' | 'reason'>;
  readonly requestDuration: Histogram<'route' | 'decision'>;
  readonly upstreamErrors: Counter<'code'>;
  readonly revocationEvents: Counter<'result' | 'reason'>;
  readonly natsReconnects: Counter;
  readonly replicaResyncs: Counter;
  private replica: ReplicaGauges | undefined;

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
    replicaGauge(
      'revgate_replica_applied_sequence',
      'Stream sequence of the last revocation event the replica applied or skipped.',
      (replica) => replica.appliedSequence(),
    );
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
    new Gauge({ name: 'revgate_build_info', help: 'Always 1; the version label tells which build runs.', labelNames: ['version'], registers }).set({ version }, 1);

    collectDefaultMetrics({ register: registry });
  }

  /** Connects the replica whose state the gauges report. */
  observeReplica(replica: ReplicaGauges): void {
    this.replica = replica;
  }

  recordRequest(route: string, decision: Decision, reason: RejectionReason | 'ok', seconds: number): void {
    this.requests.inc({ route, decision, reason });
    this.requestDuration.observe({ route, decision }, seconds);
  }
}
