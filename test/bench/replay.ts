/**
 * Worker of the replay benchmark, run by run.ts in its own process with `--expose-gc`, so that each
 * measurement starts from a fresh heap and a cold NATS client. Prints one JSON line.
 *
 *   replay.js raw NATS_URL STREAM
 *     Baseline: an ordered consumer, created as the replica creates it, reads the whole stream and
 *     decodes each payload to a string, without verifying or applying anything.
 *   replay.js proxy CONFIG_FILE LOG_FILE
 *     A fresh proxy (startGateway, as `revgate serve` runs it) syncs the whole stream. Reports the
 *     time until every event was applied and until the replica reported itself in sync, and the
 *     heap before and after.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { setTimeout as delay } from 'node:timers/promises';

import { loadConfig } from '../../proxy/config/load.js';
import { createLogger } from '../../proxy/observability/logger.js';
import { startGateway } from '../../proxy/server/gateway.js';

/** How often the proxy run checks the replica's progress, in milliseconds. */
const POLL_INTERVAL_MS = 5;
/** Maximum time one replay may take before the worker gives up. */
const TIMEOUT_MS = 120_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run this worker with node --expose-gc');

/** Runs a full GC twice, so that objects freed by finalizers of the first one go as well, and returns the heap used. */
function heapUsedAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

async function lastSequence(natsUrl: string, stream: string): Promise<number> {
  const connection = await connect({ servers: natsUrl });
  try {
    const info = await (await jetstreamManager(connection)).streams.info(stream);
    if (info.state.messages !== info.state.last_seq) {
      throw new Error(`stream ${stream} has ${info.state.messages} messages up to sequence ${info.state.last_seq}; the benchmark needs a stream without gaps`);
    }
    return info.state.last_seq;
  } finally {
    await connection.close();
  }
}

export interface RawResult {
  messages: number;
  seconds: number;
}

async function replayRaw(natsUrl: string, stream: string): Promise<RawResult> {
  const last = await lastSequence(natsUrl, stream);
  const started = performance.now();
  const connection = await connect({ servers: natsUrl });
  try {
    const consumer = await jetstream(connection).consumers.get(stream);
    // The same pull settings as the replica's StreamFollower.
    const messages = await consumer.consume({ max_messages: 256, expires: 10_000, idle_heartbeat: 2_000 });
    const timer = setTimeout(() => void messages.close(), TIMEOUT_MS);
    let count = 0;
    let bytes = 0;
    for await (const message of messages) {
      bytes += message.string().length;
      count++;
      if (message.seq >= last) break;
    }
    clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    await messages.close();
    if (count !== last || bytes === 0) throw new Error(`read ${count} of ${last} messages from ${stream}`);
    return { messages: count, seconds };
  } finally {
    await connection.close();
  }
}

export interface ProxyResult {
  events: number;
  /** From the call to startGateway until every event was applied, without the forced GC. */
  appliedSeconds: number;
  /** Until the replica reported itself in sync (readiness), which waits for the next probe. */
  syncedSeconds: number;
  entries: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
}

async function replayProxy(configFile: string, logFile: string): Promise<ProxyResult> {
  const loaded = await loadConfig(configFile);
  const { config } = loaded;
  const last = await lastSequence(config.revocation.nats.servers[0]!, config.revocation.stream);
  const destination = pino.destination({ dest: logFile, sync: false });
  const logger = createLogger(config.logLevel, destination);

  const started = performance.now();
  const gateway = await startGateway(loaded, { logger });
  // The NATS connection is still being opened here, so no event has been applied yet.
  const gcStarted = performance.now();
  const heapBeforeBytes = heapUsedAfterGc();
  const gcMs = performance.now() - gcStarted;
  if (gateway.denylist.size !== 0) throw new Error('events were applied before the heap was measured; the memory numbers would be wrong');

  try {
    let appliedAt: number | undefined;
    const deadline = started + TIMEOUT_MS;
    while (!gateway.replica.synced() || appliedAt === undefined) {
      if (appliedAt === undefined && gateway.replica.appliedSequence() >= last) appliedAt = performance.now();
      if (performance.now() > deadline) throw new Error(`replica applied ${gateway.replica.appliedSequence()} of ${last} events within ${TIMEOUT_MS} ms`);
      await delay(POLL_INTERVAL_MS);
    }
    const syncedAt = performance.now();

    // Let the logger write out the line per event before the heap is measured.
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    const entries = gateway.denylist.size;
    const heapAfterBytes = heapUsedAfterGc();

    return {
      events: last,
      appliedSeconds: (appliedAt - started - gcMs) / 1000,
      syncedSeconds: (syncedAt - started - gcMs) / 1000,
      entries,
      heapBeforeBytes,
      heapAfterBytes,
    };
  } finally {
    await gateway.close();
    destination.flushSync();
  }
}

const [mode, first, second] = process.argv.slice(2);
if (mode === 'raw' && first !== undefined && second !== undefined) {
  process.stdout.write(`${JSON.stringify(await replayRaw(first, second))}\n`);
} else if (mode === 'proxy' && first !== undefined && second !== undefined) {
  process.stdout.write(`${JSON.stringify(await replayProxy(first, second))}\n`);
} else {
  process.stderr.write('usage: replay.js raw NATS_URL STREAM | replay.js proxy CONFIG_FILE LOG_FILE\n');
  process.exitCode = 2;
}
