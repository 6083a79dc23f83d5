/**
 * Staleness: the time since the replica was last confirmed to hold every message that the stream
 * held. A confirmation comes from a probe sent at time t that showed the replica had applied
 * everything the stream contained; the replica is then "current as of t", using the time the probe
 * was sent, not when its answer arrived, so a slow answer never makes the replica look fresher.
 *
 * Staleness does not rise because nobody revokes anything: an idle stream still answers probes. It
 * rises whenever probes fail (NATS unreachable or hung, JetStream unavailable) or the replica falls
 * behind the stream.
 */
/** Probes kept waiting at once; more would only describe a replica that is far behind anyway. */
const MAX_AWAITED = 64;

export class StalenessTracker {
  private confirmedAt: number | undefined;
  /** Probes waiting for the replica to reach their sequence, oldest first. */
  private awaited: { sentAt: number; sequence: number }[] = [];
  private readonly now: () => number;

  constructor(now: () => number, confirmedAt?: number) {
    this.now = now;
    this.confirmedAt = confirmedAt;
  }

  /** Records a probe sent at `sentAt` which showed that the replica held every message of the stream. */
  confirm(sentAt: number): void {
    if (this.confirmedAt === undefined || sentAt > this.confirmedAt) this.confirmedAt = sentAt;
    this.awaited = this.awaited.filter((probe) => probe.sentAt > sentAt);
  }

  /** Records a probe sent at `sentAt` which showed that the stream had nothing beyond `sequence`. */
  expect(sentAt: number, sequence: number, appliedSequence: number): void {
    if (appliedSequence >= sequence) {
      this.confirm(sentAt);
      return;
    }
    // A replica that lags steadily still gets confirmations, each as old as the lag.
    if (this.awaited.length < MAX_AWAITED) this.awaited.push({ sentAt, sequence });
  }

  /** Called after each applied message; confirms every awaited probe whose sequence is reached. */
  applied(sequence: number): void {
    let latest: number | undefined;
    while (this.awaited.length > 0 && sequence >= this.awaited[0]!.sequence) latest = this.awaited.shift()!.sentAt;
    if (latest !== undefined) this.confirm(latest);
  }

  /** Forgets awaited sequences, for example when the stream was recreated and sequences restarted. */
  clearAwaited(): void {
    this.awaited = [];
  }

  /** Seconds since the last confirmation; Infinity before the first one. */
  stalenessSeconds(): number {
    return this.confirmedAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, this.now() - this.confirmedAt) / 1000;
  }

  /** True when a confirmation came from a probe sent at or after `time` (milliseconds). */
  confirmedSince(time: number): boolean {
    return this.confirmedAt !== undefined && this.confirmedAt >= time;
  }

  confirmedAtMs(): number | undefined {
    return this.confirmedAt;
  }
}
