/**
 * `revgate status` against a running proxy's admin listener: the human summary, the raw JSON, the
 * watch mode, and a clear failure when nothing listens at --admin.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import type { StatusDocument } from '../../proxy/server/status.js';
import { runCli } from '../support/cli.js';
import { ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { freePort } from '../support/ports.js';
import { createWorkspace, eventually, get, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

const MAIN = fileURLToPath(new URL('../../proxy/main.ts', import.meta.url));

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
let proxy: RunningProxy;

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url });
  await eventually(async () => proxy.replica.synced(), 10_000);
  const token = await workspace.issuer.token({ claims: { jti: 'status-revoked' } });
  await workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: 'status-revoked' });
  await eventually(async () => (await get(proxy.proxyUrl, '/orders', token)).status === 401, 5000);
  // The last known sequence comes from the next stream probe after the event.
  await eventually(async () => proxy.replica.lastKnownSequence() === 1, 5000);
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

describe('admin /status', () => {
  test('describes the replica and config', async () => {
    const status = JSON.parse((await get(proxy.adminUrl, '/status')).body) as StatusDocument;
    assert.equal(status.stream, 'REVGATE');
    assert.equal(status.ready, true);
    assert.equal(status.notReadyReason, null);
    assert.equal(status.synced, true);
    assert.equal(status.appliedSequence, 1);
    assert.equal(status.lastKnownSequence, 1);
    assert.notEqual(status.stalenessSeconds, null);
    assert.ok(status.stalenessSeconds! < 2, `staleness ${status.stalenessSeconds}`);
    assert.equal(status.maxStalenessSeconds, 2);
    assert.equal(status.entries['token'], 1);
    assert.notEqual(status.lastEventAt, null);
    assert.ok(Date.now() - Date.parse(status.lastEventAt!) < 60_000, `last event at ${status.lastEventAt}`);
    assert.equal(status.natsConnected, true);
    assert.equal(status.natsServer, `127.0.0.1:${nats.port}`);
    assert.match(status.configDigest, /^[0-9a-f]{64}$/);
    assert.match(status.config.file, /revgate\.yaml$/);
    assert.deepEqual(status.config.restartRequired, []);
    assert.equal(status.config.lastReload, null);
    assert.equal(status.version, JSON.parse((await get(proxy.adminUrl, '/status')).body).version);
    assert.ok(status.streams.some((stream) => stream.stream === 'REVGATE' && stream.appliedSequence === 1));
  });
});

describe('revgate status', () => {
  test('prints a summary', async () => {
    const result = await runCli(['status', '--admin', proxy.adminUrl]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ready\s+yes$/m);
    assert.match(result.stdout, /^replica\s+in sync, staleness \d+\.\d\d s \(limit 2\.00 s\)$/m);
    assert.match(result.stdout, /^stream\s+REVGATE: applied sequence 1 of 1 known, staleness /m);
    assert.match(result.stdout, /^entries\s+token 1$/m);
    assert.match(result.stdout, /^nats\s+connected to 127\.0\.0\.1:\d+$/m);
    assert.match(result.stdout, /^last event\s+\d{4}-\d\d-\d\dT.*Z \(\d+s ago\)$/m);
    assert.match(result.stdout, /^config\s+.*revgate\.yaml, sha256 [0-9a-f]{12}, loaded /m);
  });

  test('--json prints the document', async () => {
    const result = await runCli(['status', '--admin', proxy.adminUrl, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout) as StatusDocument;
    assert.equal(status.appliedSequence, 1);
    assert.equal(status.natsConnected, true);
  });

  test('unreachable admin API exits 1', async () => {
    const port = await freePort();
    const result = await runCli(['status', '--admin', `http://127.0.0.1:${port}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^error: admin API http://127\\.0\\.0\\.1:${port} unreachable: .*ECONNREFUSED`, 'm'));
    assert.equal(result.stdout, '');
  });

  test('--watch refreshes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'status', '--admin', proxy.adminUrl, '--watch', '200ms', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await eventually(async () => stdout.split('\n').filter((line) => line.startsWith('{')).length >= 3, 15_000, 50);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const documents = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as StatusDocument);
    assert.ok(documents.every((document) => document.stream === 'REVGATE'));
    const uptimes = documents.map((document) => document.uptimeSeconds);
    assert.ok(uptimes[2]! > uptimes[0]!, `uptime grows between refreshes: ${uptimes.join(', ')}`);
  });
});
