/**
 * `make bench`: benchmarks of revgate, each reported as a ratio against a baseline measured in the
 * same run, because absolute numbers on a shared two-core machine mean little. docs/benchmarks.md
 * explains the numbers and their limits.
 *
 * 1. HTTP: wrk against a plain upstream directly, then through revgate with a valid ES256 token,
 *    with 0, 10,000 and 100,000 revocations in the denylist, and with a new token on every request.
 * 2. Denylist lookup: Denylist.match() against one Map.get, at 0, 10,000 and 1,000,000 entries.
 * 3. Replay: a fresh proxy syncing 100,000 revocations against a raw ordered consumer reading
 *    them, and the heap the entries take.
 *
 * Everything runs on 127.0.0.1 with free ports: a nats-server, the upstream, three proxies and the
 * workers, each in its own process, all stopped at the end. Progress goes to standard error and
 * the report (Markdown tables) to standard output, and also to the file BENCH_REPORT when set.
 *
 * This file must run from the tsc output (`make bench` compiles it), so that the benchmark measures
 * the code as `make build` compiles it. tsx wraps every closure in a `__name()` call, which made
 * Denylist.match() about 1.5 times slower in a trial.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { stringify } from 'yaml';

import { NatsServer } from '../support/nats.js';
import { createWorkspace, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import type { SizeResult } from './denylist-lookup.js';
import { runWorker } from './processes.js';
import type { ProxyResult, RawResult } from './replay.js';
import { formatBytes, formatNumber, formatRatio, median, pairedRatios, table } from './report.js';
import { publishRevocations, writeRevocationRequests, type PublishOutcome } from './revocations.js';
import {
  MAX_TOKEN_LIFETIME_SECONDS,
  benchConfig,
  expectOk,
  readCacheCounts,
  startRevgate,
  startUpstream,
  waitForEntries,
  type CacheCounts,
  type RunningProxy,
  type RunningServer,
} from './servers.js';
import { runWrk, writeWrkScript, type LoadResult } from './wrk.js';

if (import.meta.url.endsWith('.ts')) {
  throw new Error('run the benchmark with `make bench`, which runs the tsc output; under tsx the proxy code runs slower than it ships');
}

/** Reads a positive integer setting from the environment. */
function setting(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}="${text}": must be a positive integer`);
  return value;
}

const SETTINGS = {
  /** Length of one wrk run, in seconds. */
  seconds: setting('BENCH_SECONDS', 5),
  /** Rounds of wrk runs; each round runs every target once, in the same order. */
  rounds: setting('BENCH_ROUNDS', 3),
  /** wrk connections of the throughput rows; the latency rows use one. */
  connections: setting('BENCH_CONNECTIONS', 32),
  /** wrk run per target before the first round, not reported: JIT, pools and the token cache warm up. */
  warmupSeconds: 2,
  replayRuns: setting('BENCH_REPLAY_RUNS', 1),
  lookupSizes: [0, 10_000, 1_000_000],
  lookupSamples: 5,
  lookupIterations: 200_000,
  /** More tokens than the verifier caches (10,000), so that every request of that row misses the cache. */
  uncachedTokens: 12_000,
  httpEntries: [10_000, 100_000],
  replayEntries: 100_000,
};

const REQUEST_PATH = '/api/orders';
const DENYLIST_WORKER = fileURLToPath(new URL('./denylist-lookup.js', import.meta.url));
const REPLAY_WORKER = fileURLToPath(new URL('./replay.js', import.meta.url));

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Clean-up steps, run in reverse order; every step runs even when an earlier one fails. */
const cleanups: { label: string; run: () => Promise<unknown> }[] = [];

async function cleanUp(): Promise<void> {
  for (let step = cleanups.pop(); step !== undefined; step = cleanups.pop()) {
    await step.run().catch((error: unknown) => progress(`clean-up of ${step!.label} failed: ${String(error)}`));
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal} received; stopping every process the benchmark started`);
    void cleanUp().finally(() => process.exit(128 + os.constants.signals[signal]));
  });
}

// --- Setup --------------------------------------------------------------------------------------

interface Fixture {
  workspace: Workspace;
  nats: NatsServer;
  upstream: RunningServer;
  /** Proxies by name: `empty`, and one per entry count of SETTINGS.httpEntries. */
  proxies: Map<string, RunningProxy>;
  publishes: { entries: number; outcome: PublishOutcome }[];
  tokenFile: string;
  uncachedTokenFile: string;
  wrkScript: string;
}

function streamName(entries: number): string {
  return `BENCH_${entries}`;
}

async function writeTokens(workspace: Workspace, file: string, count: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  // Every claim that Denylist.match() reads is present, so each request runs every lookup.
  const claims = { sid: 'session-ok', client_id: 'client-ok', exp: now + MAX_TOKEN_LIFETIME_SECONDS - 60 };
  for (let index = 0; index < count; index++) tokens.push(await workspace.issuer.token({ claims }, now));
  await writeFile(file, `${tokens.join('\n')}\n`);
  return tokens[0]!;
}

async function setUp(): Promise<Fixture> {
  const workspace = await createWorkspace();
  cleanups.push({ label: 'workspace folder', run: () => workspace.dispose() });
  const nats = await NatsServer.start();
  cleanups.push({ label: 'nats-server', run: () => nats.dispose() });
  progress(`nats-server on ${nats.url}, files in ${workspace.folder}`);
  const filledStreams = [...new Set([...SETTINGS.httpEntries, SETTINGS.replayEntries])];
  for (const entries of [0, ...filledStreams]) await initStream(nats.url, streamName(entries));

  const upstream = await startUpstream(workspace.folder);
  cleanups.push({ label: 'upstream', run: () => upstream.process.stop() });

  // The proxies start first and apply the revocations as they are published, which overlaps the
  // two steps on two cores.
  const proxyEntries = [0, ...SETTINGS.httpEntries];
  const proxies = await Promise.all(
    proxyEntries.map(async (entries) => {
      const name = `revgate-${entries === 0 ? 'empty' : entries}`;
      const config = benchConfig(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, stream: streamName(entries) });
      const proxy = await startRevgate(workspace, name, config);
      cleanups.push({ label: name, run: () => proxy.process.stop() });
      return proxy;
    }),
  );

  progress(`publishing ${filledStreams.map((entries) => formatNumber(entries)).join(' and ')} revocations with revgate revoke --file, concurrently`);
  const publishes = await Promise.all(
    filledStreams.map(async (entries) => {
      const file = path.join(workspace.folder, `revocations-${entries}.jsonl`);
      await writeRevocationRequests(file, entries);
      const outcome = await publishRevocations(file, {
        natsUrl: nats.url,
        stream: streamName(entries),
        signingKeyFile: workspace.responder.privateKeyFile,
        timeoutMs: 240_000,
      });
      return { entries, outcome };
    }),
  );
  for (const [index, proxy] of proxies.entries()) {
    await waitForEntries(proxy, proxyEntries[index]!, 180_000);
    progress(`${proxy.process.name} on ${proxy.url} is in sync with ${formatNumber(proxyEntries[index]!)} revocations`);
  }

  const tokenFile = path.join(workspace.folder, 'token.txt');
  const token = await writeTokens(workspace, tokenFile, 1);
  const uncachedTokenFile = path.join(workspace.folder, 'tokens-uncached.txt');
  await writeTokens(workspace, uncachedTokenFile, SETTINGS.uncachedTokens);
  for (const url of [upstream.url, ...proxies.map((proxy) => proxy.url)]) await expectOk(`${url}${REQUEST_PATH}`, token);

  return {
    workspace,
    nats,
    upstream,
    proxies: new Map(proxies.map((proxy, index) => [proxyEntries[index] === 0 ? 'empty' : String(proxyEntries[index]), proxy])),
    publishes,
    tokenFile,
    uncachedTokenFile,
    wrkScript: await writeWrkScript(workspace.folder),
  };
}

// --- 1. HTTP ------------------------------------------------------------------------------------

interface HttpTarget {
  label: string;
  url: string;
  tokenFile: string;
  connections: number;
  /** For proxies: the admin URL and whether the row's tokens must hit or miss the verification cache. */
  cache?: { adminUrl: string; expected: 'hit' | 'miss' };
  /** Label of the row this one is divided by; undefined for the baseline itself. */
  baseline: string | undefined;
}

interface HttpRow {
  target: HttpTarget;
  runs: LoadResult[];
}

async function benchmarkHttp(fixture: Fixture): Promise<HttpRow[]> {
  const { connections } = SETTINGS;
  const { tokenFile, uncachedTokenFile } = fixture;
  const proxy = (name: string, expected: 'hit' | 'miss') => {
    const running = fixture.proxies.get(name)!;
    return { url: running.url, cache: { adminUrl: running.adminUrl, expected } };
  };
  const direct = 'upstream directly';
  const empty = 'revgate, empty denylist';
  const directSingle = 'upstream directly, one connection';
  const targets: HttpTarget[] = [
    { label: direct, url: fixture.upstream.url, tokenFile, connections, baseline: undefined },
    { label: empty, ...proxy('empty', 'hit'), tokenFile, connections, baseline: direct },
    ...SETTINGS.httpEntries.map((entries) => ({
      label: `revgate, ${formatNumber(entries)} revocations`,
      ...proxy(String(entries), 'hit'),
      tokenFile,
      connections,
      baseline: empty,
    })),
    {
      label: `revgate, empty denylist, new token per request (${formatNumber(SETTINGS.uncachedTokens)} tokens in turn)`,
      ...proxy('empty', 'miss'),
      tokenFile: uncachedTokenFile,
      connections,
      baseline: empty,
    },
    // One connection sends the next request only after the last response, so nothing queues and
    // the latency is the time one request takes, not the wait behind the others.
    { label: directSingle, url: fixture.upstream.url, tokenFile, connections: 1, baseline: undefined },
    { label: 'revgate, empty denylist, one connection', ...proxy('empty', 'hit'), tokenFile, connections: 1, baseline: directSingle },
  ];

  // Requests sent so far per token file: each run starts at the token after the last one sent, so
  // that a run never repeats the tokens that the previous run left in the verification cache.
  const sent = new Map<string, number>();
  const send = async (target: HttpTarget, seconds: number) => {
    const firstToken = sent.get(target.tokenFile) ?? 0;
    const result = await runWrk(target.url, REQUEST_PATH, target.tokenFile, { connections: target.connections, script: fixture.wrkScript, seconds, firstToken });
    sent.set(target.tokenFile, firstToken + result.requests);
    return result;
  };

  for (const target of targets) {
    progress(`warming up: ${target.label}`);
    await send(target, SETTINGS.warmupSeconds);
  }
  const rows: HttpRow[] = targets.map((target) => ({ target, runs: [] }));
  for (let round = 1; round <= SETTINGS.rounds; round++) {
    for (const row of rows) {
      const before = row.target.cache && (await readCacheCounts(row.target.cache.adminUrl));
      const result = await send(row.target, SETTINGS.seconds);
      if (row.target.cache && before) await checkCache(row.target, before);
      row.runs.push(result);
      progress(`round ${round}/${SETTINGS.rounds}: ${row.target.label}: ${formatNumber(result.requestsPerSecond)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
    }
  }
  return rows;
}

/** Throws unless at least 99% of the requests of the last run hit (or missed) the verification cache as the row intends. */
async function checkCache(target: HttpTarget, before: CacheCounts): Promise<void> {
  const after = await readCacheCounts(target.cache!.adminUrl);
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  const share = (target.cache!.expected === 'hit' ? hits : misses) / (hits + misses);
  if (!(share >= 0.99)) {
    throw new Error(`${target.label}: expected every token to ${target.cache!.expected} the verification cache, but it had ${hits} hits and ${misses} misses`);
  }
}

function httpTable(rows: HttpRow[]): string {
  const byLabel = new Map(rows.map((row) => [row.target.label, row]));
  const body = rows.map(({ target, runs }) => {
    const rps = runs.map((run) => run.requestsPerSecond);
    const p50 = runs.map((run) => run.p50Ms);
    const p99 = runs.map((run) => run.p99Ms);
    const base = target.baseline === undefined ? undefined : byLabel.get(target.baseline)!.runs;
    const ratio = (values: number[], pick: (run: LoadResult) => number) => (base === undefined ? '1 (baseline)' : formatRatio(pairedRatios(values, base.map(pick))));
    return [
      target.label,
      String(target.connections),
      formatNumber(median(rps)),
      `${formatNumber(Math.min(...rps))}-${formatNumber(Math.max(...rps))}`,
      median(p50).toFixed(2),
      median(p99).toFixed(2),
      ratio(rps, (run) => run.requestsPerSecond),
      ratio(p50, (run) => run.p50Ms),
      ratio(p99, (run) => run.p99Ms),
      target.baseline ?? '-',
    ];
  });
  return table(['target', 'connections', 'req/s', 'req/s range', 'p50 ms', 'p99 ms', 'req/s ratio', 'p50 ratio', 'p99 ratio', 'ratio against'], body);
}

// --- 2. Denylist lookup -------------------------------------------------------------------------

async function benchmarkLookup(): Promise<SizeResult[]> {
  progress(`timing Denylist.match() at ${SETTINGS.lookupSizes.map((size) => formatNumber(size)).join(', ')} entries`);
  const args = [SETTINGS.lookupSizes.join(','), String(SETTINGS.lookupSamples), String(SETTINGS.lookupIterations)];
  const { sizes } = await runWorker<{ sizes: SizeResult[] }>(DENYLIST_WORKER, args, 180_000);
  return sizes;
}

function lookupTable(sizes: SizeResult[]): string {
  const empty = sizes.find((size) => size.entries === 0);
  const body = sizes.map((size) => [
    formatNumber(size.entries),
    formatNumber(median(size.matchNs)),
    median(size.mapGetNs).toFixed(1),
    formatRatio(pairedRatios(size.matchNs, size.mapGetNs)),
    empty === undefined ? '-' : (median(size.matchNs) / median(empty.matchNs)).toFixed(2),
    size.heapBytesPerEntry === null ? '-' : formatNumber(size.heapBytesPerEntry),
  ]);
  return table(['entries', 'match() ns/op', 'Map.get ns/op', 'match() / Map.get', 'match() / match() at 0 entries', 'heap bytes per entry'], body);
}

// --- 3. Replay ----------------------------------------------------------------------------------

interface ReplayRuns {
  raw: RawResult[];
  proxy: ProxyResult[];
}

async function benchmarkReplay(fixture: Fixture): Promise<ReplayRuns> {
  const stream = streamName(SETTINGS.replayEntries);
  const configFile = path.join(fixture.workspace.folder, 'replay.yaml');
  await writeFile(configFile, stringify(benchConfig(fixture.workspace, { upstreamUrl: fixture.upstream.url, natsUrl: fixture.nats.url, stream })));
  const runs: ReplayRuns = { raw: [], proxy: [] };
  for (let run = 1; run <= SETTINGS.replayRuns; run++) {
    const raw = await runWorker<RawResult>(REPLAY_WORKER, ['raw', fixture.nats.url, stream], 180_000);
    runs.raw.push(raw);
    const logFile = path.join(fixture.workspace.folder, `replay-${run}.log`);
    const proxy = await runWorker<ProxyResult>(REPLAY_WORKER, ['proxy', configFile, logFile], 180_000);
    if (proxy.entries !== SETTINGS.replayEntries) throw new Error(`the replaying proxy has ${proxy.entries} entries, expected ${SETTINGS.replayEntries}`);
    runs.proxy.push(proxy);
    progress(
      `replay ${run}/${SETTINGS.replayRuns}: raw consumer ${raw.seconds.toFixed(2)} s, proxy applied all in ${proxy.appliedSeconds.toFixed(2)} s, ` +
        `in sync after ${proxy.syncedSeconds.toFixed(2)} s`,
    );
  }
  return runs;
}

function replayTable(runs: ReplayRuns): string {
  const rawRates = runs.raw.map((run) => run.messages / run.seconds);
  const appliedRates = runs.proxy.map((run) => run.events / run.appliedSeconds);
  const events = runs.proxy[0]!.events;
  return table(
    ['reader', 'messages', 'seconds', 'messages/s', 'ratio'],
    [
      ['raw ordered consumer, no verification', formatNumber(events), median(runs.raw.map((run) => run.seconds)).toFixed(2), formatNumber(median(rawRates)), '1 (baseline)'],
      [
        'fresh proxy: verify and apply every event',
        formatNumber(events),
        median(runs.proxy.map((run) => run.appliedSeconds)).toFixed(2),
        formatNumber(median(appliedRates)),
        formatRatio(pairedRatios(appliedRates, rawRates)),
      ],
      ['fresh proxy: until it reports itself in sync (ready)', formatNumber(events), median(runs.proxy.map((run) => run.syncedSeconds)).toFixed(2), '-', '-'],
    ],
  );
}

function memoryTable(runs: ReplayRuns, lookup: SizeResult[]): string {
  const rows = runs.proxy.map((run, index) => [
    String(index + 1),
    formatBytes(run.heapBeforeBytes),
    formatBytes(run.heapAfterBytes),
    formatNumber((run.heapAfterBytes - run.heapBeforeBytes) / run.entries),
  ]);
  const largest = lookup.at(-1);
  const note = largest?.heapBytesPerEntry == null ? '' : `\n\nA bare Denylist filled in memory with ${formatNumber(largest.entries)} entries of the same mix took ${formatNumber(largest.heapBytesPerEntry)} heap bytes per entry.`;
  return table(['run', 'heap before sync', `heap after sync (${formatNumber(runs.proxy[0]!.entries)} entries)`, 'growth bytes per entry'], rows) + note;
}

// --- Report -------------------------------------------------------------------------------------

function versionOf(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch (error) {
    // wrk prints its version with the usage text and exits 1.
    const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
    return output.split('\n')[0]?.trim() || 'unknown';
  }
}

function header(startedAt: Date, loadBefore: number[]): string {
  const cpus = os.cpus();
  return [
    `Run of ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}: \`make bench\``,
    '',
    `- machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown model'}), ${formatNumber(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, load average before the run ${loadBefore.map((value) => value.toFixed(2)).join(' ')}`,
    `- Node.js ${process.version}; ${versionOf('wrk', ['-v'])}; ${versionOf('nats-server', ['--version'])}`,
    `- HTTP load: \`wrk --threads 1 --connections ${SETTINGS.connections} --duration ${SETTINGS.seconds}s\` (one connection for the latency rows) with one warm-up run of ${SETTINGS.warmupSeconds} s per target, then ${SETTINGS.rounds} rounds over all targets; GET ${REQUEST_PATH} with an ES256 bearer token`,
  ].join('\n');
}

/** `one round` or `median of 3 rounds`. */
function medianOf(count: number, noun: string): string {
  return count === 1 ? `one ${noun}` : `median of ${count} ${noun}s`;
}

function publishLine(fixture: Fixture): string {
  const parts = fixture.publishes.map(({ entries, outcome }) => `${formatNumber(entries)} in ${outcome.seconds.toFixed(1)} s (${formatNumber(outcome.stored / outcome.seconds)}/s)`);
  return `Setup: \`revgate revoke --file\` stored ${parts.join(' and ')}, the two files published at the same time while the proxies applied them, each time including process start.`;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const fixture = await setUp();
  const http = await benchmarkHttp(fixture);
  // The HTTP proxies would only take memory and probe NATS from here on.
  for (const proxy of fixture.proxies.values()) await proxy.process.stop();
  const lookup = await benchmarkLookup();
  const replay = await benchmarkReplay(fixture);

  const report = [
    header(startedAt, loadBefore),
    '',
    `### 1. HTTP through revgate (${medianOf(SETTINGS.rounds, 'round')}; ratios are per round, median with range)`,
    '',
    httpTable(http),
    '',
    publishLine(fixture),
    '',
    `### 2. Denylist.match() on a token that is not revoked (${medianOf(SETTINGS.lookupSamples, 'sample')} of ${formatNumber(SETTINGS.lookupIterations)} calls)`,
    '',
    lookupTable(lookup),
    '',
    `### 3. Replay of ${formatNumber(SETTINGS.replayEntries)} revocations by a fresh process (${medianOf(SETTINGS.replayRuns, 'run')})`,
    '',
    replayTable(replay),
    '',
    '### Heap of the replaying proxy (after a full GC)',
    '',
    memoryTable(replay, lookup),
    '',
  ].join('\n');
  process.stdout.write(`\n${report}`);
  const reportFile = process.env['BENCH_REPORT'];
  if (reportFile) {
    await writeFile(reportFile, report);
    progress(`report written to ${reportFile}`);
  }
}

try {
  await main();
} finally {
  await cleanUp();
}
