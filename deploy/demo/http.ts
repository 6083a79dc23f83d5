/** HTTP requests and polling for the demo's checks. */
import { setTimeout as delay } from 'node:timers/promises';

import { describe } from './processes.js';

const REQUEST_TIMEOUT_MS = 2000;

export interface HttpResult {
  status: number;
  body: string;
  headers: Headers;
}

/** Sends a GET, with `Authorization: Bearer <token>` when a token is given. */
export async function httpGet(url: string, token?: string): Promise<HttpResult> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

/** Returns `status` followed by the proxy's rejection reason (`{"error": "..."}`), when the body has one. */
export function describeStatus(result: HttpResult): string {
  try {
    const parsed: unknown = JSON.parse(result.body);
    const reason = (parsed as { error?: unknown } | null)?.error;
    if (typeof reason === 'string') return `${result.status} ${reason}`;
  } catch {
    // Not JSON: the status alone describes it.
  }
  return String(result.status);
}

/** Describes the last attempt of a poll of HTTP requests: its status and reason, or its error. */
export function describeLastAttempt(outcome: PollOutcome<HttpResult>): string {
  return outcome.last === undefined ? `error: ${outcome.lastError}` : describeStatus(outcome.last);
}

export interface PollOutcome<T> {
  /** True when `isDone` accepted a value before the timeout. */
  done: boolean;
  /** The value of the last attempt, or undefined when that attempt threw. */
  last: T | undefined;
  /** The error of the last attempt, such as a refused connection, or undefined when it returned a value. */
  lastError: string | undefined;
  /** Milliseconds from `since` until the accepted value arrived, or until the timeout. */
  elapsedMs: number;
  attempts: number;
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
  /** `performance.now()` at which the elapsed time starts; defaults to the first attempt. */
  since?: number;
}

/** Calls `probe` every `intervalMs` until `isDone` accepts its value or `timeoutMs` passes. A probe that throws counts as not done. */
export async function pollUntil<T>(probe: () => Promise<T>, isDone: (value: T) => boolean, options: PollOptions): Promise<PollOutcome<T>> {
  const since = options.since ?? performance.now();
  const deadline = performance.now() + options.timeoutMs;
  const outcome: PollOutcome<T> = { done: false, last: undefined, lastError: undefined, elapsedMs: 0, attempts: 0 };

  for (;;) {
    outcome.attempts++;
    try {
      outcome.last = await probe();
      outcome.lastError = undefined;
      if (isDone(outcome.last)) {
        outcome.done = true;
        break;
      }
    } catch (error) {
      outcome.last = undefined;
      outcome.lastError = describe(error);
    }
    if (performance.now() >= deadline) break;
    await delay(options.intervalMs);
  }
  outcome.elapsedMs = Math.round(performance.now() - since);
  return outcome;
}
