/**
 * The revocation stream: its NATS subjects and its limits.
 *
 * Each revocation key (kind, issuer and value) has its own subject, named by a hash so that any
 * claim value yields a valid subject token, and the stream keeps one message per subject. A
 * repeated revocation therefore replaces the earlier message instead of growing the stream, and
 * `max_age` drops messages once no token they could match is still valid.
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

import type { RevocationTarget } from './event.js';

export const DEFAULT_STREAM = 'REVGATE';

/** Window in which JetStream drops a publish whose message id it has already stored. */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

/** The subjects of a stream: `revgate.<stream>.<kind>.<hash>`. */
export function streamSubjects(stream: string): string {
  return `revgate.${stream}.>`;
}

/** The subject that holds the latest event for one revocation key. */
export function subjectFor(stream: string, target: RevocationTarget): string {
  const value = target.kind === 'subject' ? target.sub : 'jti' in target ? `jti:${target.jti}` : `sha256:${target.sha256}`;
  const digest = createHash('sha256').update(`${target.iss.length}:${target.iss}${value}`).digest('hex');
  return `revgate.${stream}.${target.kind}.${digest}`;
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
  return {
    name: stream,
    subjects: [streamSubjects(stream)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // When full, reject the publish (the CLI then reports NOT stored) rather than drop the oldest
    // revocation. Replacing the message of an existing subject still works when full.
    discard: DiscardPolicy.New,
    max_msgs: limits.maxMessages,
    max_msgs_per_subject: 1,
    max_age: nanos(limits.maxAge),
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: limits.replicas,
  };
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
