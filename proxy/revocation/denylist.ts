/**
 * The in-memory denylist: the replica's state. Each revocation kind has its own map keyed by what a
 * token carries, so checking a token costs a fixed number of map lookups however many entries exist.
 *
 * A newer event for the same key replaces the older one, which matches the stream: it keeps one
 * message per revocation key. Entries are dropped by `prune()` once no token they could match is
 * still valid: a token entry after the token's `exp` (or, when that is unknown, after the revocation
 * time plus the issuer's maximum token lifetime), a subject entry after T plus that lifetime. The
 * clock tolerance is added to both bounds.
 */
import type { VerifiedToken } from '../auth/verify.js';
import type { RevocationEvent } from './event.js';

export type EntryKind = 'token' | 'subject';

export interface DenylistEntry {
  readonly id: string;
  readonly kind: EntryKind;
  readonly iss: string;
  readonly signedBy: string;
  readonly actor: string | undefined;
  readonly reason: string;
  readonly issuedAt: number;
  /** For subject entries: tokens issued at or before this time (seconds) are rejected. */
  readonly before: number | undefined;
  /** After this time (seconds) no token that the entry matches can be valid, so it is dropped. */
  readonly dropAfter: number;
}

/** The maximum token lifetime and clock tolerance of an issuer, in seconds. */
export interface IssuerBounds {
  maxLifetime: number;
  tolerance: number;
}

export type BoundsLookup = (iss: string) => IssuerBounds;

/** What applying an event did: stored it, or skipped it because it can no longer match or a newer one is held. */
export type ApplyResult = 'applied' | 'expired' | 'superseded';

type Table = 'jwtId' | 'hash' | 'subject';

/** One entry as stored in a snapshot: its table, its map key and the entry itself. */
export type SnapshotRow = [Table, string, DenylistEntry];

export class Denylist {
  private readonly byJwtId = new Map<string, DenylistEntry>();
  private readonly byHash = new Map<string, DenylistEntry>();
  private readonly bySubject = new Map<string, DenylistEntry>();
  private readonly boundsOf: BoundsLookup;
  private readonly now: () => number;

  constructor(boundsOf: BoundsLookup, now: () => number = Date.now) {
    this.boundsOf = boundsOf;
    this.now = now;
  }

  /**
   * Adds or replaces the entry for an event's key. An event older (by its `iat`) than the entry
   * already held is ignored, so replaying an old signed event can never weaken a newer revocation.
   */
  apply(event: RevocationEvent): ApplyResult {
    const { target } = event;
    const bounds = this.boundsOf(target.iss);
    // A token issued just before the revocation may carry an iat up to one tolerance ahead (an
    // issuer clock running fast), so its exp can be one tolerance later than the lifetime allows.
    const latestExp = event.issuedAt + bounds.maxLifetime + bounds.tolerance;
    const lastValidToken = target.kind === 'subject'
      ? target.before + bounds.maxLifetime
      : Math.min(target.expiresAt ?? latestExp, latestExp);
    const entry: DenylistEntry = {
      id: event.id,
      kind: target.kind,
      iss: target.iss,
      signedBy: event.signedBy,
      actor: event.actor,
      reason: event.reason,
      issuedAt: event.issuedAt,
      before: target.kind === 'subject' ? target.before : undefined,
      dropAfter: lastValidToken + bounds.tolerance,
    };

    const [map, key] = target.kind === 'subject'
      ? [this.bySubject, pairKey(target.iss, target.sub)]
      : 'jti' in target ? [this.byJwtId, pairKey(target.iss, target.jti)] : [this.byHash, pairKey(target.iss, target.sha256)];
    const existing = map.get(key);
    if (existing && existing.issuedAt > event.issuedAt) return 'superseded';
    if (entry.dropAfter < this.nowSeconds()) return 'expired';
    map.set(key, entry);
    return 'applied';
  }

  /** Returns the entry that revokes this token, if any. */
  match(token: VerifiedToken): DenylistEntry | undefined {
    const { iss, claims } = token;
    if (typeof claims.jti === 'string') {
      const entry = this.byJwtId.get(pairKey(iss, claims.jti));
      if (entry) return entry;
    }
    const byHash = this.byHash.get(pairKey(iss, token.signingInputHash));
    if (byHash) return byHash;

    if (typeof claims.sub === 'string' && typeof claims.iat === 'number') {
      const entry = this.bySubject.get(pairKey(iss, claims.sub));
      if (entry?.before !== undefined && claims.iat <= entry.before) return entry;
    }
    return undefined;
  }

  /** Drops entries that can no longer match a valid token; returns how many were dropped. */
  prune(): number {
    const now = this.nowSeconds();
    let dropped = 0;
    for (const map of [this.byJwtId, this.byHash, this.bySubject]) {
      for (const [key, entry] of map) {
        if (entry.dropAfter < now) {
          map.delete(key);
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** Lists every entry for a snapshot. */
  exportRows(): SnapshotRow[] {
    const rows: SnapshotRow[] = [];
    for (const [table, map] of this.tables()) {
      for (const [key, entry] of map) rows.push([table, key, entry]);
    }
    return rows;
  }

  /** Adds entries from a snapshot, skipping rows of unknown shape and entries that have expired since. */
  importRows(rows: readonly SnapshotRow[]): number {
    const tables = new Map(this.tables());
    const now = this.nowSeconds();
    let imported = 0;
    for (const row of rows) {
      const [table, key, entry] = Array.isArray(row) ? row : [];
      const map = table === undefined ? undefined : tables.get(table);
      if (!map || typeof key !== 'string' || typeof entry?.dropAfter !== 'number' || entry.dropAfter < now) continue;
      map.set(key, entry);
      imported++;
    }
    return imported;
  }

  private tables(): [Table, Map<string, DenylistEntry>][] {
    return [['jwtId', this.byJwtId], ['hash', this.byHash], ['subject', this.bySubject]];
  }

  countByKind(): Record<EntryKind, number> {
    return { token: this.byJwtId.size + this.byHash.size, subject: this.bySubject.size };
  }

  get size(): number {
    return this.byJwtId.size + this.byHash.size + this.bySubject.size;
  }

  private nowSeconds(): number {
    return this.now() / 1000;
  }
}

/** Joins an issuer and a value into one map key; the length prefix keeps distinct pairs distinct whatever they contain. */
function pairKey(first: string, second: string): string {
  return `${first.length}:${first}${second}`;
}
