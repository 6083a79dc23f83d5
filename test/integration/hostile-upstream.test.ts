/**
 * Upstream failures through a running proxy: refused connections, resets and closes before and
 * during the response, slow heads and bodies, and invalid responses. Before the response starts,
 * each must become a clean JSON 502 or 504 counted in revgate_upstream_errors_total; after it
 * started, the client connection is cut so that a truncated body never looks complete. A final
 * test repeats 1,000 failures and checks that open file descriptors and heap stay bounded.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';

import { HostileUpstream } from '../support/hostile-upstream.js';
import { NatsServer } from '../support/nats.js';
import { lastAccessLine } from '../support/observe.js';
import { createWorkspace, eventually, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

let nats: NatsServer;
let hostile: HostileUpstream;
let workspace: Workspace;
let proxy: RunningProxy;
let token: string;

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  hostile = await HostileUpstream.start();
  workspace = await createWorkspace();
  const upstream = { url: hostile.url, headersTimeout: '1s', bodyTimeout: '1s', connections: 8 };
  proxy = await startProxy(workspace, { upstreamUrl: hostile.url, natsUrl: nats.url, overrides: { upstream } }, 'hostile-upstream.yaml');
  await eventually(async () => proxy.replica.synced(), 10_000);
  token = await workspace.issuer.token();
});

after(async () => {
  await proxy?.close();
  await hostile?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

interface Outcome {
  status: number;
  body: string;
  /** True when the connection ended before the response body was complete. */
  cut: boolean;
}

/** Sends one GET on a fresh connection and reads the whole response, with a time bound. */
function fetchOutcome(baseUrl: string, target: string, timeoutMs = 10_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${baseUrl}${target}`, { agent: false, headers: { authorization: `Bearer ${token}` } }, (response) => {
      let body = '';
      response.setEncoding('latin1');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, cut: !response.complete }));
      response.on('error', () => resolve({ status: response.statusCode ?? 0, body, cut: true }));
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no response within ${timeoutMs}ms`)));
    request.on('error', reject);
  });
}

async function upstreamErrorCount(code: string): Promise<number> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const match = new RegExp(`^revgate_upstream_errors_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

describe('failures before the response', () => {
  const cases: [string, number, string, string][] = [
    ['/reset-before-headers', 502, 'upstream_unavailable', 'ECONNRESET'],
    ['/close-before-headers', 502, 'upstream_unavailable', 'UND_ERR_SOCKET'],
    ['/slow-headers', 504, 'upstream_timeout', 'UND_ERR_HEADERS_TIMEOUT'],
    ['/garbage', 502, 'upstream_unavailable', 'invalid_response'],
    ['/bad-status', 502, 'upstream_unavailable', 'invalid_response'],
    ['/status-099', 502, 'upstream_unavailable', 'invalid_response'],
    ['/status-1000', 502, 'upstream_unavailable', 'invalid_response'],
    ['/bad-header-char', 502, 'upstream_unavailable', 'invalid_response'],
    ['/obs-fold', 502, 'upstream_unavailable', 'invalid_response'],
    ['/huge-headers', 502, 'upstream_unavailable', 'other'],
    ['/informational-only', 502, 'upstream_unavailable', 'UND_ERR_SOCKET'],
    ['/switching-protocols', 502, 'upstream_unavailable', 'UND_ERR_SOCKET'],
  ];
  for (const [target, status, reason, code] of cases) {
    test(`${target} gets ${status} ${reason}`, async () => {
      const countBefore = await upstreamErrorCount(code);
      const outcome = await fetchOutcome(proxy.proxyUrl, target);
      assert.equal(outcome.status, status);
      assert.deepEqual(JSON.parse(outcome.body), { error: reason });
      assert.equal(outcome.cut, false);
      assert.equal(await upstreamErrorCount(code), countBefore + 1, `revgate_upstream_errors_total{code="${code}"}`);
      const line = lastAccessLine(proxy.logs);
      assert.equal(line.reason, reason);
      assert.equal(line.decision, 'error');
    });
  }

  test('refused connection gets 502', async () => {
    const closed = await TestUpstream.start();
    const url = closed.url;
    await closed.close();
    const refused = await startProxy(workspace, { upstreamUrl: url, natsUrl: nats.url }, 'refused.yaml');
    try {
      const outcome = await fetchOutcome(refused.proxyUrl, '/orders');
      assert.equal(outcome.status, 502);
      assert.deepEqual(JSON.parse(outcome.body), { error: 'upstream_unavailable' });
      const metrics = await (await fetch(`${refused.adminUrl}/metrics`)).text();
      assert.match(metrics, /^revgate_upstream_errors_total\{code="ECONNREFUSED"\} 1$/m);
    } finally {
      await refused.close();
    }
  });
});

describe('client that hangs up', () => {
  test('is logged as client_closed, not as an upstream error', async () => {
    const abortedBefore = await upstreamErrorCount('UND_ERR_ABORTED');
    const request = http.get(`${proxy.proxyUrl}/slow-headers`, { agent: false, headers: { authorization: `Bearer ${token}` } });
    request.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    request.destroy();

    await eventually(async () => lastAccessLine(proxy.logs).reason === 'client_closed', 3000);
    const line = lastAccessLine(proxy.logs);
    assert.equal(line.status, 499);
    assert.equal(line.decision, 'rejected');
    assert.equal(await upstreamErrorCount('UND_ERR_ABORTED'), abortedBefore);
  });
});

describe('failures after the response started', () => {
  for (const target of ['/reset-mid-body', '/short-body-close', '/chunked-cut', '/slow-body']) {
    test(`${target} cuts the client connection`, async () => {
      const outcome = await fetchOutcome(proxy.proxyUrl, target);
      assert.equal(outcome.status, 200);
      assert.equal(outcome.cut, true, `the response must not look complete; body ${JSON.stringify(outcome.body)}`);
    });
  }

  // undici finds the conflict either before it returns the head or while reading the body,
  // depending on how the bytes arrive; either way the client must not get a complete response.
  for (const target of ['/cl-and-te', '/two-content-lengths']) {
    test(`${target} never passes as complete`, async () => {
      const outcome = await fetchOutcome(proxy.proxyUrl, target);
      if (outcome.status === 502) assert.deepEqual(JSON.parse(outcome.body), { error: 'upstream_unavailable' });
      else assert.ok(outcome.status === 200 && outcome.cut, `status ${outcome.status}, cut ${outcome.cut}`);
    });
  }

  test('HTTP/1.0 body that ends at close is passed on complete', async () => {
    const outcome = await fetchOutcome(proxy.proxyUrl, '/http10-until-close');
    assert.equal(outcome.status, 200);
    assert.equal(outcome.body, 'body until close');
    assert.equal(outcome.cut, false);
  });
});

describe('resources after many failures', () => {
  const FAILING_TARGETS = ['/reset-before-headers', '/close-before-headers', '/garbage', '/status-099', '/reset-mid-body', '/short-body-close', '/huge-headers'];

  function openFileDescriptors(): number {
    return readdirSync('/proc/self/fd').length;
  }

  function heapAfterCollection(): number {
    v8.setFlagsFromString('--expose-gc');
    const collect = vm.runInNewContext('gc') as () => void;
    collect();
    collect();
    return process.memoryUsage().heapUsed;
  }

  async function failMany(count: number, concurrency: number): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const target = FAILING_TARGETS[next++ % FAILING_TARGETS.length]!;
        const outcome = await fetchOutcome(proxy.proxyUrl, target, 5000);
        assert.ok(outcome.status === 502 || (outcome.status === 200 && outcome.cut), `${target}: ${outcome.status}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  test('1000 upstream failures leak no sockets or heap', { timeout: 120_000 }, async (context) => {
    await failMany(100, 10);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The test keeps every log line in memory; dropping them keeps that out of the heap figures.
    proxy.logs.length = 0;
    const descriptorsBefore = openFileDescriptors();
    const heapBefore = heapAfterCollection();

    const started = Date.now();
    await failMany(1000, 10);
    const seconds = (Date.now() - started) / 1000;
    // Sockets that the failures closed need a moment to leave the descriptor table.
    await eventually(async () => openFileDescriptors() <= descriptorsBefore + 10, 5000).catch(() => undefined);

    proxy.logs.length = 0;
    const descriptorsAfter = openFileDescriptors();
    const heapAfter = heapAfterCollection();
    const heapGrowth = heapAfter - heapBefore;
    context.diagnostic(`1000 failures in ${seconds.toFixed(1)}s; descriptors ${descriptorsBefore} -> ${descriptorsAfter}; heap ${(heapBefore / 1e6).toFixed(1)} -> ${(heapAfter / 1e6).toFixed(1)} MB`);
    // The pool keeps at most `connections: 8` upstream sockets, so a few descriptors may differ.
    assert.ok(descriptorsAfter <= descriptorsBefore + 10, `descriptors grew from ${descriptorsBefore} to ${descriptorsAfter}`);
    // Measured growth stays under 1.5 MB; leaking 4 KB of state per failure would exceed the bound.
    assert.ok(heapGrowth < 4 * 1024 * 1024, `heap grew by ${(heapGrowth / 1e6).toFixed(1)} MB`);
    assert.ok(hostile.openConnections <= 10, `${hostile.openConnections} upstream connections still open`);
  });
});
