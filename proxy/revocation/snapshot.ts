/**
 * The local snapshot of the replica: its entries and the stream sequence they cover, so that a
 * restarted proxy enforces every revocation it knew about even while NATS is down.
 *
 * File format: a header line `revgate-snapshot 1 sha256=<hex of the body>` followed by the JSON
 * body. Each write goes to a temporary file in the same folder, is flushed to disk and then renamed
 * over the old snapshot, so a reader sees either the old or the new file, never a mix.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';

import type { LiftRow, SnapshotRow } from './denylist.js';

const FORMAT = 'revgate-snapshot 1';

export interface SnapshotState {
  /** The configured stream name; a snapshot of another name is ignored. */
  stream: string;
  /**
   * Per stream: the last sequence the entries include, and the stream's creation time as JetStream
   * reports it (a different time on start means another stream, which is then replayed).
   */
  streams: Record<string, { sequence: number; created: string | undefined }>;
  /** Time (milliseconds) the replica was last confirmed current, or null if it never was. */
  confirmedAt: number | null;
  entries: SnapshotRow[];
  /** Lifts the replica remembers, so that replayed events stay ignored after a restart. */
  lifts?: LiftRow[];
}

/** Writes the snapshot atomically, readable only by the owner (it contains revoked subjects). */
export async function writeSnapshot(file: string, state: SnapshotState): Promise<void> {
  const body = JSON.stringify(state);
  const digest = createHash('sha256').update(body).digest('hex');
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(`${FORMAT} sha256=${digest}\n${body}`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}

export type SnapshotReadResult = { state: SnapshotState } | { problem: string };

/** Reads and checks a snapshot; returns the problem instead of throwing, because a bad snapshot is only skipped. */
export async function readSnapshot(file: string, stream: string): Promise<SnapshotReadResult | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code})` };
  }

  const newline = text.indexOf('\n');
  const header = /^revgate-snapshot 1 sha256=([0-9a-f]{64})$/.exec(text.slice(0, newline));
  if (newline === -1 || !header) return { problem: 'has no valid header line' };
  const body = text.slice(newline + 1);
  if (createHash('sha256').update(body).digest('hex') !== header[1]) return { problem: 'checksum does not match its content' };

  let state: SnapshotState;
  try {
    state = JSON.parse(body) as SnapshotState;
  } catch {
    return { problem: 'body is not valid JSON' };
  }
  if (state.stream !== stream) return { problem: `belongs to stream ${String(state.stream)}, not ${stream}` };
  const positions = state.streams !== null && typeof state.streams === 'object' ? Object.values(state.streams) : undefined;
  if (!positions || !positions.every((position) => Number.isInteger(position?.sequence) && position.sequence >= 0) || !Array.isArray(state.entries)) {
    return { problem: 'has an invalid stream position or entry list' };
  }
  return { state };
}
