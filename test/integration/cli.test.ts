/**
 * The command line as a user runs it: exit codes, messages, and files it writes.
 */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { freePort } from '../support/ports.js';
import { createWorkspace, type Workspace } from '../support/proxy.js';
import { runCli } from '../support/cli.js';

let workspace: Workspace;

before(async () => {
  workspace = await createWorkspace();
});

after(async () => {
  await workspace?.dispose();
});

describe('revgate revoke', () => {
  test('with NATS down exits 1 and says NOT stored', async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await runCli([
      'revoke', 'jti', '--issuer', 'https://idp.test', 'jti-x', '--nats', `nats://127.0.0.1:${port}`,
      '--signing-key', workspace.responder.privateKeyFile, '--reason', 'test', '--timeout', '1500ms',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^revocation NOT stored: /m);
    assert.match(result.stderr, /attempt 1 failed/);
    assert.equal(result.stdout, '');
    assert.ok(Date.now() - started >= 1500, 'retries until the timeout');
  });

  test('future --before is a usage error', async () => {
    const result = await runCli([
      'revoke', 'subject', '--issuer', 'https://idp.test', 'user', '--before', '2999-01-01T00:00:00Z',
      '--signing-key', workspace.responder.privateKeyFile, '--reason', 'test',
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /before "2999-01-01T00:00:00Z": is in the future/);
  });

  test('missing reason is a usage error', async () => {
    const result = await runCli(['revoke', 'jti', '--issuer', 'i', 'j', '--signing-key', workspace.responder.privateKeyFile]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--reason/);
  });

  test('token that is not a JWT is a usage error', async () => {
    const result = await runCli(['revoke', 'token', 'not-a-token', '--signing-key', workspace.responder.privateKeyFile, '--reason', 'x']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /compact JWS/);
  });

  test('public key as signing key is rejected', async () => {
    const result = await runCli(['revoke', 'jti', '--issuer', 'i', 'j', '--signing-key', workspace.responder.jwksFile, '--reason', 'x']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is not a private JWK/);
  });
});

describe('revgate config check', () => {
  test('reports every problem at once', async () => {
    const file = path.join(workspace.folder, 'bad.yaml');
    await writeFile(
      file,
      [
        'listen: nowhere',
        'upstream: { url: ftp://x }',
        'issuers:',
        '  - { issuer: https://a, audience: x, jwks: { file: k.json }, algorithms: [HS256], maxTokenLifetime: 1 }',
        'routes:',
        '  - { path: admin, privileged: true, auth: none }',
        'revocation: { trustedResponders: { file: r.json }, maxStaleness: soon }',
      ].join('\n'),
    );
    const result = await runCli(['config', 'check', file]);
    assert.equal(result.code, 1);
    for (const expected of [
      /listen "nowhere": expected host:port/,
      /upstream\.url "ftp:\/\/x": must be an http/,
      /issuers\[0\]\.algorithms\[0\] "HS256"/,
      /issuers\[0\]\.maxTokenLifetime 1: /,
      /routes\[0\]\.path "admin": must start with "\/"/,
      /revocation\.maxStaleness "soon": invalid duration/,
    ]) {
      assert.match(result.stderr, expected);
    }
  });

  test('missing key files are reported', async () => {
    const file = path.join(workspace.folder, 'nokeys.yaml');
    await writeFile(
      file,
      [
        'upstream: { url: "http://127.0.0.1:1" }',
        'issuers:',
        '  - { issuer: https://a, audience: x, jwks: { file: missing.json }, algorithms: [ES256], maxTokenLifetime: 1h }',
        'routes: [{ path: / }]',
        'revocation: { trustedResponders: { file: missing-responders.json } }',
      ].join('\n'),
    );
    const result = await runCli(['config', 'check', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /issuers\[0\]\.jwks: .*missing\.json: cannot be read as a JWKS \(ENOENT\)/);
    assert.match(result.stderr, /revocation responder keys: .*missing-responders\.json/);
  });
});

describe('revgate keys generate', () => {
  test('writes a private key readable only by its owner', async () => {
    const jwks = path.join(workspace.folder, 'trusted.jwks.json');
    const result = await runCli(['keys', 'generate', '--kid', 'alice', '--out', workspace.folder, '--jwks', jwks]);
    assert.equal(result.code, 0, result.stderr);

    const privateFile = path.join(workspace.folder, 'alice.private.jwk.json');
    assert.equal((await stat(privateFile)).mode & 0o777, 0o600);
    const privateJwk = JSON.parse(await readFile(privateFile, 'utf8'));
    assert.equal(privateJwk.kid, 'alice');
    assert.equal(privateJwk.crv, 'Ed25519');
    const trusted = JSON.parse(await readFile(jwks, 'utf8'));
    assert.equal(trusted.keys.length, 1);
    assert.equal(trusted.keys[0].d, undefined);
  });

  test('refuses to overwrite an existing key', async () => {
    await runCli(['keys', 'generate', '--kid', 'bob', '--out', workspace.folder]);
    const result = await runCli(['keys', 'generate', '--kid', 'bob', '--out', workspace.folder]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /already exists/);
  });
});

describe('json output', () => {
  test('keys generate --json names the files', async () => {
    const result = await runCli(['keys', 'generate', '--kid', 'json-key', '--out', workspace.folder, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const document = JSON.parse(result.stdout);
    assert.equal(document.kid, 'json-key');
    assert.equal(document.privateKey, path.join(workspace.folder, 'json-key.private.jwk.json'));
  });

  test('config check --json on a valid config', async () => {
    const file = path.join(workspace.folder, 'valid.yaml');
    await writeFile(
      file,
      [
        'upstream: { url: "http://127.0.0.1:1" }',
        'issuers:',
        `  - { issuer: https://a, audience: x, jwks: { file: ${workspace.issuer.jwksFile} }, algorithms: [ES256], maxTokenLifetime: 1h }`,
        'routes: [{ path: / }]',
        `revocation: { trustedResponders: { file: ${workspace.responder.jwksFile} } }`,
      ].join('\n'),
    );
    const result = await runCli(['config', 'check', file, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { ok: true, source: file, issuers: 1, routes: 1, upstream: 'http://127.0.0.1:1', stream: 'REVGATE' });
  });
});
