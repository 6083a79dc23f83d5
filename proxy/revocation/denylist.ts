/**
 * The in-memory denylist: the replica's state. Entries live in one map whose keys combine the kind,
 * the issuer and the selector value, so checking a token costs a fixed number of map lookups (one
 * per kind and form) however many entries exist.
 *
 * Only a lift weakens a revocation. An event for a key that already has an entry replaces it only
 * when it is stronger: a later time, a later token expiry, or a higher minimum version. After a
 * lift, every event for that key issued at or before the lift is ignored. So neither a replayed
 * event nor a responder's second, narrower revocation can undo what a proxy enforces. `prune()`
 * drops entries once no token they could match can still be valid; revocations that last until
 * lifted stay until a lift removes them.
 */
import type { VerifiedToken } from '../auth/verify.js';
import type { RevocationEvent } from './event.js';
import { REVOCATION_KINDS, lastsUntilLifted, selectorValue, type RevocationKind, type RevocationTarget } from './target.js';

export interface DenylistEntry {
  readonly id: string;
  readonly target: RevocationTarget;
  readonly signedBy: string;
  readonly actor: string | undefined;
  readonly reason: string;
  /** When the revocation was issued (seconds). */
  readonly issuedAt: number;
  /** After this time (seconds) no token that the entry matches can be valid; Infinity until lifted. */
  readonly dropAfter: number;
}

/** The maximum token lifetime and clock tolerance of an issuer, in seconds. */
export interface IssuerBounds {
  maxLifetime: number;
  tolerance: number;
}

export type BoundsLookup = (iss: string) => IssuerBounds;

/** Result of applying an event: stored, or skipped because it can no longer match or a stronger entry exists. */
export type ApplyResult = 'applied' | 'expired' | 'superseded';

/** Result of applying a lift. */
export type LiftResult = 'lifted' | 'not_found' | 'superseded';

/** One entry as stored in a snapshot: its map key and the entry itself. */
export type SnapshotRow = [string, DenylistEntry];

/** One remembered lift in a snapshot: the key, the lift's `iat`, and when it may be forgotten. */
export type LiftRow = [string, number, number | null];

/** Claims read from the token to check version revocations; configurable because issuers differ. */
export interface DenylistOptions {
  versionClaim: string;
  now?: () => number;
}

export class Denylist {
  private readonly entries = new Map<string, DenylistEntry>();
  private readonly keyById = new Map<string, string>();
  /** Lifts per key: events for the key issued at or before `liftedAt` are ignored. */
  private readonly lifts = new Map<string, { liftedAt: number; dropAfter: number }>();
  private readonly counts = new Map<RevocationKind, number>();
  private readonly boundsOf: BoundsLookup;
  private readonly versionClaim: string;
  private readonly now: () => number;

  constructor(boundsOf: BoundsLookup, options: DenylistOptions = { versionClaim: 'ver' }) {
    this.boundsOf = boundsOf;
    this.versionClaim = options.versionClaim;
    this.now = options.now ?? Date.now;
  }

  /** Adds the entry for an event's key, or replaces a weaker one; see the class comment. */
  apply(event: RevocationEvent): ApplyResult {
    const key = entryKey(event.target);
    const lift = this.lifts.get(key);
    if (lift && event.issuedAt <= lift.liftedAt) return 'superseded';
    const existing = this.entries.get(key);

    const entry: DenylistEntry = {
      id: event.id,
      target: event.target,
      signedBy: event.signedBy,
      actor: event.actor,
      reason: event.reason,
      issuedAt: event.issuedAt,
      dropAfter: this.dropAfter(event),
    };
    if (entry.dropAfter < this.nowSeconds()) return 'expired';
    if (existing && !isStronger(entry, existing)) return 'superseded';
    this.store(key, entry);
    return 'applied';
  }

  /** Removes the revocation with this id, unless it was revoked again after the lift was issued. */
  lift(revocationId: string, issuedAt: number): LiftResult {
    const key = this.keyById.get(revocationId);
    const entry = key === undefined ? undefined : this.entries.get(key);
    if (!key || !entry) return 'not_found';
    if (entry.issuedAt > issuedAt) return 'superseded';
    this.remove(key);
    this.lifts.set(key, { liftedAt: issuedAt, dropAfter: entry.dropAfter });
    return 'lifted';
  }

  /** Returns the entry that revokes this token, if any, checking the most specific selectors first. */
  match(token: VerifiedToken): DenylistEntry | undefined {
    const { iss, claims, kid } = token;
    const iat = typeof claims.iat === 'number' ? claims.iat : Number.POSITIVE_INFINITY;
    const issuedBefore = (entry: DenylistEntry | undefined) => {
      const before = entry && 'before' in entry.target ? entry.target.before : undefined;
      return entry !== undefined && (before === undefined || iat <= before) ? entry : undefined;
    };
    const lookup = (kind: RevocationKind, value: unknown, untilLifted = false) =>
      typeof value === 'string' ? this.entries.get(composeKey(kind, iss, value, untilLifted)) : undefined;

    const clientId = typeof claims['client_id'] === 'string' ? claims['client_id'] : claims['azp'];
    return (
      (typeof claims.jti === 'string' ? lookup('token', `jti:${claims.jti}`) : undefined) ??
      lookup('token', `sha256:${token.signingInputHash}`) ??
      lookup('key', kid, true) ??
      issuedBefore(lookup('issuer', '')) ??
      lookup('subject', claims.sub, true) ??
      issuedBefore(lookup('subject', claims.sub)) ??
      lookup('session', claims['sid'], true) ??
      issuedBefore(lookup('session', claims['sid'])) ??
      lookup('client', clientId, true) ??
      issuedBefore(lookup('client', clientId)) ??
      this.matchVersion(lookup('version', claims.sub, true), claims[this.versionClaim])
    );
  }

  /** Drops entries that can no longer match a valid token; returns how many were dropped. */
  prune(): number {
    const now = this.nowSeconds();
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.dropAfter < now) {
        this.remove(key);
        dropped++;
      }
    }
    for (const [key, lift] of this.lifts) if (lift.dropAfter < now) this.lifts.delete(key);
    return dropped;
  }

  /** Returns the entry with this revocation id. */
  get(revocationId: string): DenylistEntry | undefined {
    const key = this.keyById.get(revocationId);
    return key === undefined ? undefined : this.entries.get(key);
  }

  /** Iterates over every entry, in insertion order. */
  values(): IterableIterator<DenylistEntry> {
    return this.entries.values();
  }

  /** Lists every entry for a snapshot. */
  exportRows(): SnapshotRow[] {
    return [...this.entries];
  }

  /** Lists the lifts still remembered, for a snapshot: key, lift time and when the memory may go. */
  exportLifts(): LiftRow[] {
    return [...this.lifts].map(([key, lift]) => [key, lift.liftedAt, lift.dropAfter]);
  }

  /** Restores remembered lifts from a snapshot; JSON writes an Infinity bound as null. */
  importLifts(rows: readonly LiftRow[]): void {
    for (const row of Array.isArray(rows) ? rows : []) {
      const [key, liftedAt, dropAfter] = Array.isArray(row) ? row : [];
      if (typeof key !== 'string' || typeof liftedAt !== 'number') continue;
      this.lifts.set(key, { liftedAt, dropAfter: typeof dropAfter === 'number' ? dropAfter : Number.POSITIVE_INFINITY });
    }
  }

  /** Adds entries from a snapshot, skipping rows of unknown shape and entries that have expired since. */
  importRows(rows: readonly SnapshotRow[]): number {
    const now = this.nowSeconds();
    let imported = 0;
    for (const row of rows) {
      const [key, entry] = Array.isArray(row) ? row : [];
      if (typeof key !== 'string' || typeof entry?.id !== 'string' || typeof entry.target?.kind !== 'string') continue;
      // JSON has no Infinity: entries that last until lifted are written with a null bound.
      const dropAfter = entry.dropAfter === null ? Number.POSITIVE_INFINITY : entry.dropAfter;
      if (typeof dropAfter !== 'number' || dropAfter < now) continue;
      this.store(key, { ...entry, dropAfter });
      imported++;
    }
    return imported;
  }

  /** Entries per kind, zeros included, so that a gauge series drops to 0 instead of disappearing. */
  countByKind(): Record<string, number> {
    return Object.fromEntries(REVOCATION_KINDS.map((kind) => [kind, this.counts.get(kind) ?? 0]));
  }

  get size(): number {
    return this.entries.size;
  }

  private matchVersion(entry: DenylistEntry | undefined, version: unknown): DenylistEntry | undefined {
    if (entry?.target.kind !== 'version') return undefined;
    // A token without a numeric version claim predates versioning, so it counts as version 0.
    const tokenVersion = typeof version === 'number' && Number.isFinite(version) ? version : 0;
    return tokenVersion < entry.target.minVersion ? entry : undefined;
  }

  private dropAfter(event: RevocationEvent): number {
    const { target } = event;
    if (lastsUntilLifted(target)) return Number.POSITIVE_INFINITY;
    const bounds = this.boundsOf(target.iss);
    if (target.kind === 'token') {
      // A token issued just before the revocation may carry an iat up to one tolerance ahead (an
      // issuer clock running fast), so its exp can be one tolerance later than the lifetime allows.
      const latestExp = event.issuedAt + bounds.maxLifetime + bounds.tolerance;
      return Math.min(target.expiresAt ?? latestExp, latestExp) + bounds.tolerance;
    }
    const before = 'before' in target && target.before !== undefined ? target.before : event.issuedAt;
    return before + bounds.maxLifetime + bounds.tolerance;
  }

  private store(key: string, entry: DenylistEntry): void {
    const previous = this.entries.get(key);
    if (previous) this.keyById.delete(previous.id);
    else this.counts.set(entry.target.kind, (this.counts.get(entry.target.kind) ?? 0) + 1);
    this.entries.set(key, entry);
    this.keyById.set(entry.id, key);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.keyById.delete(entry.id);
    const count = (this.counts.get(entry.target.kind) ?? 1) - 1;
    if (count === 0) this.counts.delete(entry.target.kind);
    else this.counts.set(entry.target.kind, count);
  }

  private nowSeconds(): number {
    return this.now() / 1000;
  }
}

/** True when `candidate` rejects more tokens, or for longer, than `existing`, which has the same key. */
function isStronger(candidate: DenylistEntry, existing: DenylistEntry): boolean {
  const { target } = candidate;
  const existingTarget = existing.target;
  if (target.kind === 'version' && existingTarget.kind === 'version') return target.minVersion > existingTarget.minVersion;
  const before = 'before' in target ? target.before : undefined;
  const existingBefore = 'before' in existingTarget ? existingTarget.before : undefined;
  if (before !== undefined && existingBefore !== undefined) return before > existingBefore;
  if (target.kind === 'token') return candidate.dropAfter > existing.dropAfter;
  // Revocations until lifted, of keys or without a time, are equally strong; the first one stays.
  return false;
}

/** Returns the map key of a target: kind, scope (until lifted or time-bound), issuer and selector value. */
export function entryKey(target: RevocationTarget): string {
  return composeKey(target.kind, target.iss, selectorValue(target), lastsUntilLifted(target));
}

/** Joins the key parts; the length prefix keeps distinct issuer and value pairs distinct whatever they contain. */
function composeKey(kind: RevocationKind, iss: string, value: string, untilLifted: boolean): string {
  return `${kind}${untilLifted ? '!' : '@'}${iss.length}:${iss}${value}`;
}
