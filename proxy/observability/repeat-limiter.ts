/**
 * Rate limiting for log lines that can repeat once per request, such as "issuer keys unavailable"
 * while a JWKS endpoint is down. The first line for a key is written at once. Later lines for the
 * same key within `intervalMs` are dropped and counted, and the next line written reports that
 * count as `suppressed`, so nothing disappears without a trace.
 */

/** Keys tracked at once. Callers use fixed messages plus config values (such as an issuer) as keys. */
const MAX_KEYS = 1000;

interface KeyState {
  writtenAt: number;
  suppressed: number;
}

export class RepeatLimiter {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly keys = new Map<string, KeyState>();

  constructor(intervalMs: number, now: () => number = Date.now) {
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /**
   * Decides whether a line for `key` may be written now. Returns the number of lines for that key
   * dropped since the previous one written (0 for a first line), or undefined when this one must be
   * dropped too.
   */
  admit(key: string): number | undefined {
    const now = this.now();
    const state = this.keys.get(key);
    if (state && now - state.writtenAt < this.intervalMs) {
      state.suppressed++;
      return undefined;
    }
    const suppressed = state?.suppressed ?? 0;
    this.remember(key, { writtenAt: now, suppressed: 0 });
    return suppressed;
  }

  private remember(key: string, state: KeyState): void {
    this.keys.delete(key);
    // Map iteration follows insertion order, so the first key is the one written longest ago.
    if (this.keys.size >= MAX_KEYS) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(key, state);
  }
}
