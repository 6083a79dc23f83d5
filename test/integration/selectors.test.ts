/**
 * The responder's tools end to end: every selector through the `revgate revoke` command line, a
 * real nats-server and a running proxy; lifts; listing; explain; and bulk revocation from a file.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { runCli } from '../support/cli.js';
import { ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { createWorkspace, eventually, get, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

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
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

const statusOf = async (token: string) => (await get(proxy.proxyUrl, '/orders', token)).status;
const revoke = (args: string[], stdin = '') =>
  runCli(['revoke', ...args, '--nats', nats.url, '--signing-key', workspace.responder.privateKeyFile, '--reason', 'test', '--actor', 'alice'], stdin);

function revocationIdOf(stdout: string): string {
  const match = /revocation ([0-9a-f-]{36})/.exec(stdout);
  assert.ok(match, `no revocation id in: ${stdout}`);
  return match[1]!;
}

describe('every selector through the CLI', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: { name: string; args: () => string[]; revoked: () => Promise<string>; spared: () => Promise<string> }[] = [
    {
      name: 'jti',
      args: () => ['jti', '--issuer', ISSUER, 'sel-jti-1'],
      revoked: () => workspace.issuer.token({ claims: { jti: 'sel-jti-1' } }),
      spared: () => workspace.issuer.token({ claims: { jti: 'sel-jti-2' } }),
    },
    {
      name: 'subject',
      args: () => ['subject', '--issuer', ISSUER, 'sel-user'],
      revoked: () => workspace.issuer.token({ claims: { sub: 'sel-user', iat: now() - 5 } }),
      spared: () => workspace.issuer.token({ claims: { sub: 'sel-other', iat: now() - 5 } }),
    },
    {
      name: 'session',
      args: () => ['session', '--issuer', ISSUER, 'sid-42'],
      revoked: () => workspace.issuer.token({ claims: { sid: 'sid-42', iat: now() - 5 } }),
      spared: () => workspace.issuer.token({ claims: { sid: 'sid-43', iat: now() - 5 } }),
    },
    {
      name: 'client by azp',
      args: () => ['client', '--issuer', ISSUER, 'ci-deployer'],
      revoked: () => workspace.issuer.token({ claims: { azp: 'ci-deployer', iat: now() - 5 } }),
      spared: () => workspace.issuer.token({ claims: { client_id: 'web-app', azp: 'ci-deployer', iat: now() - 5 } }),
    },
    {
      name: 'issuer',
      args: () => ['issuer', '--before', String(now() - 3000), ISSUER],
      revoked: () => workspace.issuer.token({ claims: { iat: now() - 3100, exp: now() + 300 } }),
      spared: () => workspace.issuer.token(),
    },
    {
      name: 'version',
      args: () => ['version', '--issuer', ISSUER, '--min-version', '3', 'sel-versioned'],
      revoked: () => workspace.issuer.token({ claims: { sub: 'sel-versioned', ver: 2 } }),
      spared: () => workspace.issuer.token({ claims: { sub: 'sel-versioned', ver: 3 } }),
    },
    {
      name: 'client until lifted',
      args: () => ['client', '--issuer', ISSUER, '--until-lifted', 'decommissioned-bot'],
      revoked: () => workspace.issuer.token({ claims: { client_id: 'decommissioned-bot' } }),
      spared: () => workspace.issuer.token({ claims: { client_id: 'live-bot' } }),
    },
  ];

  for (const { name, args, revoked, spared } of cases) {
    test(`${name} revocation is enforced`, async () => {
      const [target, bystander] = [await revoked(), await spared()];
      assert.equal(await statusOf(target), 200);
      const result = await revoke(args());
      assert.equal(result.code, 0, result.stderr);
      await eventually(async () => (await statusOf(target)) === 401, 1000);
      assert.equal(await statusOf(bystander), 200);
    });
  }

  test('key revocation, then a lift', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'key-user' } });
    const result = await revoke(['key', '--issuer', ISSUER, 'issuer-key-1']);
    assert.equal(result.code, 0, result.stderr);
    const id = revocationIdOf(result.stdout);
    await eventually(async () => (await statusOf(token)) === 401, 1000);

    // A responder trusted to revoke but not to lift cannot undo it.
    const refused = await runCli(['lift', id, '--admin', proxy.adminUrl, '--nats', nats.url, '--signing-key', workspace.responder.privateKeyFile, '--reason', 'test']);
    assert.equal(refused.code, 0, refused.stderr);
    await eventually(async () => (await get(proxy.adminUrl, '/metrics')).body.includes('reason="lift_not_allowed"'), 2000);
    assert.equal(await statusOf(token), 401);

    const lifted = await runCli(['lift', id, '--admin', proxy.adminUrl, '--nats', nats.url, '--signing-key', workspace.liftResponder.privateKeyFile, '--reason', 'key rotated']);
    assert.equal(lifted.code, 0, lifted.stderr);
    await eventually(async () => (await statusOf(token)) === 200, 1000);
  });

  test('dry run publishes nothing', async () => {
    const token = await workspace.issuer.token({ claims: { jti: 'dry-run-jti' } });
    const result = await revoke(['jti', '--issuer', ISSUER, 'dry-run-jti', '--dry-run', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const document = JSON.parse(result.stdout);
    assert.equal(document.dryRun, true);
    assert.match(document.subject, /^revgate\.REVGATE\.token\.[0-9a-f]{64}\.[0-9a-f]{32}$/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await statusOf(token), 200);
  });
});

describe('listing and explaining', () => {
  test('revocations list filters by kind', async () => {
    await revoke(['session', '--issuer', ISSUER, 'listed-session']);
    await eventually(async () => (await get(proxy.adminUrl, '/revocations?kind=session')).body.includes('listed-session'), 1000);
    const result = await runCli(['revocations', 'list', '--kind', 'session', '--json', '--admin', proxy.adminUrl]);
    assert.equal(result.code, 0, result.stderr);
    const items = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(items.length >= 1);
    assert.ok(items.every((item) => item.kind === 'session'));
    const listed = items.find((item) => item.target.sid === 'listed-session');
    assert.equal(listed.actor, 'alice');
    assert.equal(listed.signedBy, 'responder-1');
    assert.equal(listed.reason, 'test');
    assert.ok(!result.stdout.includes('eyJ'), 'no token in the listing');
  });

  test('revocations are paginated', async () => {
    await revoke(['session', '--issuer', ISSUER, 'paged-session-1']);
    await revoke(['session', '--issuer', ISSUER, 'paged-session-2']);
    await eventually(async () => JSON.parse((await get(proxy.adminUrl, '/revocations?limit=1')).body).total >= 2, 2000);
    const first = JSON.parse((await get(proxy.adminUrl, '/revocations?limit=1')).body);
    assert.equal(first.items.length, 1);
    assert.equal(typeof first.next, 'string');
    const second = JSON.parse((await get(proxy.adminUrl, `/revocations?limit=1&after=${first.next}`)).body);
    assert.notEqual(second.items[0].id, first.items[0].id);
  });

  const explainCases: { name: string; token: () => Promise<string>; path?: string; reason: string }[] = [
    { name: 'valid token', token: () => workspace.issuer.token(), reason: 'ok' },
    { name: 'bad signature', token: () => workspace.issuer.token({ untrusted: true }), reason: 'invalid_signature' },
    { name: 'expired', token: () => workspace.issuer.token({ claims: { iat: 1000, exp: 2000 } }), reason: 'token_expired' },
    { name: 'over lifetime', token: () => workspace.issuer.token({ claims: { exp: Math.floor(Date.now() / 1000) + 90_000 } }), reason: 'lifetime_exceeded' },
    { name: 'wrong audience', token: () => workspace.issuer.token({ claims: { aud: 'other' } }), reason: 'invalid_claims' },
    { name: 'missing scope', token: () => workspace.issuer.token(), path: '/reports/x', reason: 'insufficient_scope' },
  ];
  for (const { name, token, path: requestPath, reason } of explainCases) {
    test(`explain ${name}`, async () => {
      const result = await runCli(['explain', '-', '--admin', proxy.adminUrl, '--json', ...(requestPath ? ['--path', requestPath] : [])], await token());
      assert.equal(result.code, reason === 'ok' ? 0 : 3, result.stderr);
      assert.equal(JSON.parse(result.stdout).reason, reason);
    });
  }

  test('explain rejects an oversized body', async () => {
    const response = await fetch(`${proxy.adminUrl}/explain`, { method: 'POST', body: JSON.stringify({ token: 'x'.repeat(70_000) }) });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: string }).error, 'request_too_large');
  });

  test('explain names the revocation', async () => {
    const token = await workspace.issuer.token({ claims: { jti: 'explained-jti' } });
    const published = await revoke(['jti', '--issuer', ISSUER, 'explained-jti']);
    const id = revocationIdOf(published.stdout);
    await eventually(async () => (await statusOf(token)) === 401, 1000);

    const result = await runCli(['explain', '-', '--admin', proxy.adminUrl], token);
    assert.equal(result.code, 3);
    assert.match(result.stdout, /decision: REJECTED 401 token_revoked/);
    assert.match(result.stdout, new RegExp(`revoked:  ${id} \\(token\\)`));
    assert.match(result.stdout, /by alice with key responder-1: test/);
    assert.ok(!result.stdout.includes(token));
  });

  test('explain reads the stream itself', async () => {
    const token = await workspace.issuer.token({ claims: { jti: 'explained-jti' } });
    const config = path.join(workspace.folder, 'revgate.yaml');
    const result = await runCli(['explain', '-', '--config', config, '--nats', nats.url, '--json'], token);
    assert.equal(result.code, 3, result.stderr);
    const explanation = JSON.parse(result.stdout);
    assert.equal(explanation.reason, 'token_revoked');
    assert.equal(explanation.revocation.target.jti, 'explained-jti');
  });
});

describe('bulk revocation', () => {
  test('file with invalid lines, then resume', async () => {
    const file = path.join(workspace.folder, 'small.jsonl');
    const lines = [
      JSON.stringify({ kind: 'jti', issuer: ISSUER, jti: 'bulk-small-1' }),
      'not json',
      JSON.stringify({ kind: 'subject', issuer: ISSUER }),
      JSON.stringify({ kind: 'jti', issuer: ISSUER, jti: 'bulk-small-2', reason: 'line reason' }),
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
    const first = await runCli(['revoke', '--file', file, '--nats', nats.url, '--signing-key', workspace.responder.privateKeyFile, '--reason', 'bulk']);
    assert.equal(first.code, 1);
    assert.match(first.stderr, /line 2: NOT stored: invalid request: not valid JSON/);
    assert.match(first.stderr, /line 3: NOT stored: invalid request: sub: /);
    assert.match(first.stdout, /^2 of 4 stored, 0 failed, 2 invalid, 0 skipped/m);
    assert.deepEqual((await readFile(`${file}.progress`, 'utf8')).trim().split('\n').sort(), ['1', '4']);

    const resumed = await runCli(['revoke', '--file', file, '--resume', '--nats', nats.url, '--signing-key', workspace.responder.privateKeyFile, '--reason', 'bulk']);
    assert.match(resumed.stdout, /0 of 4 stored, 0 failed, 2 invalid, 2 skipped/);
  });

  test('100k revocations are all enforced', { timeout: 300_000 }, async () => {
    const total = 100_000;
    const file = path.join(workspace.folder, 'incident.jsonl');
    const lines = Array.from({ length: total }, (_, index) => JSON.stringify({ kind: 'jti', issuer: ISSUER, jti: `bulk-${index}` }));
    await writeFile(file, `${lines.join('\n')}\n`);

    const started = Date.now();
    const result = await runCli(['revoke', '--file', file, '--nats', nats.url, '--signing-key', workspace.responder.privateKeyFile, '--reason', 'incident 42', '--json', '--timeout', '120s']);
    assert.equal(result.code, 0, result.stderr.split("\n").filter((line) => !line.startsWith("[")).join("\n").slice(-3000));
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!).summary;
    assert.equal(summary.stored, total);
    assert.match(result.stderr, /\] 100% 100000\/100000/);
    const publishSeconds = (Date.now() - started) / 1000;

    await eventually(async () => {
      const page = JSON.parse((await get(proxy.adminUrl, '/revocations?kind=token&limit=1')).body);
      return page.total >= total;
    }, 180_000, 1000);
    const appliedSeconds = (Date.now() - started) / 1000;

    // Every entry is in the replica; a sample also goes through HTTP with real tokens.
    for (let index = 0; index < total; index++) {
      const entry = proxy.denylist.match({ iss: ISSUER, kid: 'issuer-key-1', claims: { jti: `bulk-${index}`, iat: 0 }, signingInputHash: '' });
      assert.ok(entry, `bulk-${index} is not enforced`);
    }
    for (const index of [0, 1, 4999, 50_000, 99_999]) {
      assert.equal(await statusOf(await workspace.issuer.token({ claims: { jti: `bulk-${index}` } })), 401);
    }
    console.log(`# bulk: ${total} published in ${publishSeconds.toFixed(1)}s, all applied after ${appliedSeconds.toFixed(1)}s`);
  });
});
