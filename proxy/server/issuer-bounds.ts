/**
 * The lifetime bounds that the denylist uses to decide when an entry can no longer match a valid
 * token. Bounds only grow while the process runs. A reload that shortens an issuer's
 * `maxTokenLifetime` or removes the issuer keeps the larger bound, because tokens accepted under
 * the old config may still be valid. Dropping their revocations early would let them through.
 */
import type { Config } from '../config/schema.js';
import type { BoundsLookup, IssuerBounds } from '../revocation/denylist.js';

export class IssuerBoundsTable {
  private readonly bounds = new Map<string, IssuerBounds>();
  private largest: IssuerBounds = { maxLifetime: 0, tolerance: 0 };

  constructor(config: Config) {
    this.update(config);
  }

  /** Raises each issuer's bounds to those of `config` where they are larger. */
  update(config: Config): void {
    for (const issuer of config.issuers) {
      const previous = this.bounds.get(issuer.issuer);
      const next = { maxLifetime: issuer.maxTokenLifetime / 1000, tolerance: issuer.clockTolerance / 1000 };
      this.bounds.set(issuer.issuer, previous ? larger(previous, next) : next);
      this.largest = larger(this.largest, next);
    }
  }

  /**
   * Returns the lookup the denylist calls when it applies an event; an issuer not configured gets
   * the largest bounds seen. NOTE: entries applied before a reload keep the drop time computed
   * then, so a reload that raises a lifetime does not extend entries already held.
   */
  lookup(): BoundsLookup {
    return (iss) => this.bounds.get(iss) ?? this.largest;
  }
}

function larger(a: IssuerBounds, b: IssuerBounds): IssuerBounds {
  return { maxLifetime: Math.max(a.maxLifetime, b.maxLifetime), tolerance: Math.max(a.tolerance, b.tolerance) };
}
