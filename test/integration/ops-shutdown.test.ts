/**
 * Signals sent to a real `revgate serve` process: SIGTERM drains in-flight requests and exits 0,
 * a second SIGTERM exits at once, the drain timeout cuts what is left, and SIGHUP reloads.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { stringify } from 'yaml';

import { NatsServer } from '../support/nats.js';
import { createWorkspace, defaultConfig, eventually, get, type Workspace } from '../support/proxy.js';
import { ServeProcess } from '../support/serve-process.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
const started: ServeProcess[] = [];

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
});

after(async () => {
  await Promise.all(started.map((serve) => serve.kill()));
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

function serveConfig(server: Record<string, unknown>, extraRoutes: Record<string, unknown>[] = []): Record<string, unknown> {
  const base = defaultConfig(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url });
  return {
    ...base,
    logLevel: 'info',
    server,
    upstream: { url: upstream.url, headersTimeout: '5s' },
    routes: [...extraRoutes, ...(base['routes'] as unknown[])],
  };
}

async function startServe(name: string, config: Record<string, unknown>): Promise<ServeProcess> {
  const serve = await ServeProcess.start(path.join(workspace.folder, `${name}.yaml`), config);
  started.push(serve);
  await eventually(async () => (await get(serve.adminUrl, '/readyz')).status === 200, 10_000, 100);
  return serve;
}

/**
 * Starts a POST whose body never ends, so that the request stays in flight until the connection
 * is cut. Resolves once the response headers arrived; `closed` settles when the connection ends.
 */
function openEndlessUpload(baseUrl: string, token: string): Promise<{ closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${baseUrl}/echo-body`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'transfer-encoding': 'chunked' } });
    const closed = new Promise<void>((settle) => request.once('close', settle));
    request.on('error', () => undefined);
    request.on('response', (response) => {
      response.on('error', () => undefined);
      response.resume();
      resolve({ closed });
    });
    request.once('error', reject);
    request.write('first chunk');
  });
}

test('SIGTERM drains in-flight requests', async () => {
  const serve = await startServe('drain', serveConfig({ drainTimeout: '10s' }));
  const token = await workspace.issuer.token();
  const slow = [1, 2, 3].map(() => get(serve.proxyUrl, '/slow', token));
  await eventually(async () => upstream.seen.filter((request) => request.url === '/slow').length === 3, 5000, 10);

  const signalledAt = Date.now();
  serve.signal('SIGTERM');
  await serve.waitForLine((line) => line.msg.startsWith('shutting down'), 2000);
  const readiness = await get(serve.adminUrl, '/readyz');
  assert.equal(readiness.status, 503);
  assert.deepEqual(JSON.parse(readiness.body), { ready: false, reason: 'shutting_down' });
  await assert.rejects(fetch(`${serve.proxyUrl}/orders`, { headers: { authorization: `Bearer ${token}` } }), 'new connections are refused');

  const answers = await Promise.all(slow);
  assert.deepEqual(answers.map((answer) => [answer.status, answer.body]), [[200, 'late'], [200, 'late'], [200, 'late']]);
  assert.equal(await serve.exited(10_000), 0);
  assert.ok(Date.now() - signalledAt < 8000, 'exits soon after the last request finished');

  const messages = serve.lines.map((line) => line.msg);
  const order = ['stop signal received', 'shutting down: readiness is off; draining in-flight requests', 'in-flight requests drained', 'revgate stopped'];
  assert.deepEqual(messages.filter((message) => order.includes(message)), order);
  const shutdownLine = serve.lines.find((line) => line.msg.startsWith('shutting down'));
  assert.equal(shutdownLine?.['requestsInFlight'], 3);
  assert.ok(!serve.output.includes(token.split('.')[2]!), 'no token in the process output');
});

test('second SIGTERM exits at once', async () => {
  const serve = await startServe('second-signal', serveConfig({ drainTimeout: '60s' }));
  const upload = await openEndlessUpload(serve.proxyUrl, await workspace.issuer.token());

  serve.signal('SIGTERM');
  await serve.waitForLine((line) => line.msg.startsWith('shutting down'), 2000);
  const secondAt = Date.now();
  serve.signal('SIGTERM');
  assert.equal(await serve.exited(5000), 1);
  assert.ok(Date.now() - secondAt < 3000, 'exit does not wait for the drain');
  await upload.closed;
  assert.ok(serve.lines.some((line) => line.level === 'warn' && line.msg.startsWith('second stop signal')));
});

test('drain timeout cuts open requests', async () => {
  const serve = await startServe('drain-timeout', serveConfig({ drainTimeout: '1s' }));
  const upload = await openEndlessUpload(serve.proxyUrl, await workspace.issuer.token());

  const signalledAt = Date.now();
  serve.signal('SIGTERM');
  assert.equal(await serve.exited(10_000), 0);
  const elapsed = Date.now() - signalledAt;
  assert.ok(elapsed >= 900, `exited ${elapsed}ms after SIGTERM, before the 1s drain timeout`);
  assert.ok(elapsed < 6000, `exited ${elapsed}ms after SIGTERM`);
  await upload.closed;
  const cut = serve.lines.find((line) => line.msg.startsWith('drain timeout reached'));
  assert.equal(cut?.level, 'warn');
  assert.equal(cut?.['cutRequests'], 1);
});

test('SIGHUP reloads the config file', async () => {
  const serve = await startServe('sighup', serveConfig({}));
  assert.equal((await get(serve.proxyUrl, '/open/x')).status, 401);

  await writeFile(serve.configFile, stringify(serveConfig({}, [{ path: '/open', auth: 'none', name: 'open' }])));
  serve.signal('SIGHUP');
  const reloaded = await serve.waitForLine((line) => line.msg.startsWith('config reloaded'), 10_000);
  assert.equal(reloaded['trigger'], 'SIGHUP');
  assert.equal((await get(serve.proxyUrl, '/open/x')).status, 200);

  serve.signal('SIGTERM');
  assert.equal(await serve.exited(10_000), 0);
});
