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
export class StalenessTracker {
  private confirmedAt: number | undefined;
  private awaited: { sentAt: number; sequence: number } | undefined;
  private readonly now: () => number;

  constructor(now: () => number, confirmedAt?: number) {
    this.now = now;
    this.confirmedAt = confirmedAt;
  }

  /** Records a probe sent at `sentAt` which showed that the replica held every message of the stream. */
  confirm(sentAt: number): void {
    if (this.confirmedAt === undefined || sentAt > this.confirmedAt) this.confirmedAt = sentAt;
    if (this.awaited && this.awaited.sentAt <= sentAt) this.awaited = undefined;
  }

  /** Records a probe sent at `sentAt` which showed that the stream had nothing beyond `sequence`. */
  expect(sentAt: number, sequence: number, appliedSequence: number): void {
    if (appliedSequence >= sequence) {
      this.confirm(sentAt);
      return;
    }
    this.awaited = { sentAt, sequence };
  }

  /** Called after each applied message; confirms the awaited probe once its sequence is reached. */
  applied(sequence: number): void {
    if (this.awaited && sequence >= this.awaited.sequence) this.confirm(this.awaited.sentAt);
  }

  /** Forgets an awaited sequence, for example when the stream was recreated and sequences restarted. */
  clearAwaited(): void {
    this.awaited = undefined;
  }

  /** Seconds since the last confirmation; Infinity before the first one. */
  stalenessSeconds(): number {
    return this.confirmedAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, this.now() - this.confirmedAt) / 1000;
  }

  get everConfirmed(): boolean {
    return this.confirmedAt !== undefined;
  }
}
