/**
 * The revocation streams: their NATS subjects and their limits.
 *
 * Every event has a subject of its own, `revgate.<stream>.<kind>.<key hash>.<event hash>`, named by
 * hashes so that any claim value yields valid subject tokens. No message ever replaces another: a
 * publisher, honest or not, can only add messages, so replaying an old event or publishing junk
 * cannot erase a revocation for proxies that replay the stream later. Which event wins for a key is
 * decided by the replica (denylist.ts): the stronger one, unless a lift came later. The key hash groups the events of one key for
 * operators (`revgate.REVGATE.subject.<key hash>.>`).
 *
 * There are two streams, because NATS 2.9 has no per-message age limit. The main stream, `<name>`,
 * contains time-bound revocations and drops them with `max_age` once no token they could match is
 * still valid. `<name>_UNTIL_LIFTED` has no age limit and holds revocations that last until lifted
 * (signing keys, minimum versions, and subjects, sessions or clients revoked without a time), and
 * their lifts; it stays small because such revocations are rare.
 */
import { createHash } from 'node:crypto';

import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

import { lastsUntilLifted, selectorValue, type RevocationTarget } from './target.js';

export const DEFAULT_STREAM = 'REVGATE';

/** Window in which JetStream drops a publish whose message id it has already stored. */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

/** Returns the name of the stream for revocations that last until lifted, next to the main stream `name`. */
export function untilLiftedStream(name: string): string {
  return `${name}_UNTIL_LIFTED`;
}

/** Both stream names for a configured name: the main one first. */
export function streamNames(name: string): [string, string] {
  return [name, untilLiftedStream(name)];
}

/** Returns the subject filter of a stream, matching `revgate.<stream>.<kind>.<key hash>.<event hash>`. */
export function streamSubjects(stream: string): string {
  return `revgate.${stream}.>`;
}

/** Returns the stream that stores a target's revocation and its lifts. */
export function streamFor(name: string, target: RevocationTarget): string {
  return lastsUntilLifted(target) ? untilLiftedStream(name) : name;
}

/**
 * Returns the subject of one event about `target`: `revgate.<stream>.<kind>.<key hash>.<event hash>`. The key
 * hash is the hex SHA-256 of `<length of iss>:<iss><selector value>`, the event hash the first 32 hex
 * digits of the SHA-256 of the event id (docs/revocation.md has an example). A lift uses the target
 * of the revocation it lifts, so both land in the same stream.
 */
export function subjectFor(name: string, target: RevocationTarget, eventId: string): string {
  const value = selectorValue(target);
  const keyHash = createHash('sha256').update(`${target.iss.length}:${target.iss}${value}`).digest('hex');
  const eventHash = createHash('sha256').update(eventId).digest('hex').slice(0, 32);
  return `revgate.${streamFor(name, target)}.${target.kind}.${keyHash}.${eventHash}`;
}

export interface StreamLimits {
  /** Milliseconds a message is kept: at least the largest maximum token lifetime plus clock tolerance. */
  maxAge: number;
  replicas: number;
  /** Messages the stream may hold; past it, new revocations are rejected and never old ones dropped. */
  maxMessages: number;
}

export const DEFAULT_MAX_MESSAGES = 1_000_000;

export function streamConfig(stream: string, limits: StreamLimits): Partial<StreamConfig> & { name: string } {
  const untilLifted = stream.endsWith('_UNTIL_LIFTED');
  return {
    name: stream,
    subjects: [streamSubjects(stream)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // When full, reject the publish (the CLI then reports NOT stored) rather than drop the oldest
    // revocation. No per-subject limit: a message must never replace another.
    discard: DiscardPolicy.New,
    max_msgs: limits.maxMessages,
    max_msgs_per_subject: -1,
    max_age: untilLifted ? 0 : nanos(limits.maxAge),
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: limits.replicas,
  };
}

/** Creates both streams of a name, or updates their limits; returns each one's info and what happened. */
export async function ensureStreams(manager: JetStreamManager, name: string, limits: StreamLimits): Promise<{ info: StreamInfo; created: boolean }[]> {
  const results = [];
  for (const stream of streamNames(name)) results.push(await ensureStream(manager, stream, limits));
  return results;
}

/** Creates the stream, or updates its limits when it exists; returns the stream info and what happened. */
export async function ensureStream(
  manager: JetStreamManager,
  stream: string,
  limits: StreamLimits,
): Promise<{ info: StreamInfo; created: boolean }> {
  const config = streamConfig(stream, limits);
  try {
    await manager.streams.info(stream);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    return { info: await manager.streams.add(config), created: true };
  }
  return { info: await manager.streams.update(stream, config), created: false };
}

export function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}
