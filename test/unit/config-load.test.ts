import assert from 'node:assert/strict';
import { test } from 'node:test';

import { stringify } from 'yaml';

import { parseConfigText } from '../../proxy/config/load.js';
import type { Config } from '../../proxy/config/schema.js';
import { RevgateError } from '../../proxy/errors.js';

const SOURCE = '/etc/revgate/revgate.yaml';

const MINIMAL_YAML = `
upstream:
  url: http://127.0.0.1:3000
issuers:
  - issuer: https://idp.example
    audience: orders-api
    jwks: { file: keys/jwks.json }
    algorithms: [EdDSA]
    maxTokenLifetime: 1h
routes:
  - path: /
revocation:
  trustedResponders: { file: responders.jwks.json }
`;

type RawConfig = Record<string, unknown> & {
  issuers: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  revocation: Record<string, unknown>;
};

/** Returns the minimal config as a plain object, for tests that change one field and write it as YAML. */
function minimalConfig(): RawConfig {
  return {
    upstream: { url: 'http://127.0.0.1:3000' },
    issuers: [
      { issuer: 'https://idp.example', audience: 'orders-api', jwks: { file: 'keys/jwks.json' }, algorithms: ['EdDSA'], maxTokenLifetime: '1h' },
    ],
    routes: [{ path: '/' }],
    revocation: { trustedResponders: { file: 'responders.jwks.json' } },
  };
}

function parse(raw: unknown): Config {
  return parseConfigText(stringify(raw), SOURCE);
}

/** Parses text that must be invalid and returns the RevgateError it throws. */
function configErrorOf(text: string): RevgateError {
  try {
    parseConfigText(text, SOURCE);
  } catch (error) {
    assert.ok(error instanceof RevgateError, `expected a RevgateError, got ${String(error)}`);
    return error;
  }
  assert.fail('the config was accepted');
}

function detailsOf(raw: unknown): readonly string[] {
  return configErrorOf(stringify(raw)).details;
}

/** Asserts that one detail starts with `prefix` (a field path, optionally with its value). */
function assertDetail(details: readonly string[], prefix: string): void {
  assert.ok(
    details.some((detail) => detail.startsWith(prefix)),
    `no detail starts with ${JSON.stringify(prefix)}; details: ${JSON.stringify(details, null, 2)}`,
  );
}

test('parseConfigText minimal YAML', () => {
  const config = parseConfigText(MINIMAL_YAML, SOURCE);

  assert.equal(config.upstream.url, 'http://127.0.0.1:3000');
  assert.equal(config.issuers.length, 1);
  assert.equal(config.issuers[0]?.issuer, 'https://idp.example');
  assert.equal(config.routes.length, 1);
});

test('parseConfigText listen defaults', () => {
  const config = parseConfigText(MINIMAL_YAML, SOURCE);

  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(config.admin, { host: '127.0.0.1', port: 9901 });
  assert.equal(config.logLevel, 'info');
});

test('parseConfigText duration defaults in ms', () => {
  const config = parseConfigText(MINIMAL_YAML, SOURCE);

  assert.equal(config.issuers[0]?.maxTokenLifetime, 3_600_000);
  assert.equal(config.issuers[0]?.clockTolerance, 30_000);
  assert.equal(config.server.headersTimeout, 10_000);
  assert.equal(config.server.requestTimeout, 300_000);
  assert.equal(config.server.keepAliveTimeout, 5_000);
  assert.equal(config.upstream.connectTimeout, 5_000);
  assert.equal(config.upstream.headersTimeout, 30_000);
  assert.equal(config.upstream.bodyTimeout, 300_000);
  assert.equal(config.upstream.keepAliveTimeout, 4_000);
  assert.equal(config.revocation.nats.reconnectWait, 1_000);
  assert.equal(config.revocation.maxStaleness, 5_000);
  assert.equal(config.revocation.probeInterval, 1_000);
  assert.equal(config.revocation.pruneInterval, 30_000);
});

test('parseConfigText other defaults', () => {
  const config = parseConfigText(MINIMAL_YAML, SOURCE);

  assert.equal(config.server.maxHeaderSize, 16_384);
  assert.equal(config.server.maxTokenBytes, 8_192);
  assert.equal(config.upstream.connections, 128);
  assert.equal(config.revocation.stream, 'REVGATE');
  assert.deepEqual(config.revocation.nats.servers, ['nats://127.0.0.1:4222']);
  assert.equal(config.revocation.nats.name, 'revgate');
  assert.deepEqual(config.identityHeaders, { sub: 'X-Auth-Subject', scope: 'X-Auth-Scopes', iss: 'X-Auth-Issuer' });
});

test('parseConfigText route defaults', () => {
  const route = parseConfigText(MINIMAL_YAML, SOURCE).routes[0];

  assert.ok(route);
  assert.equal(route.auth, 'required');
  assert.equal(route.privileged, false);
  assert.equal(route.name, undefined);
  assert.equal(route.methods, undefined);
  assert.equal(route.scopes, undefined);
});

test('parseConfigText relative files resolved', () => {
  const config = parseConfigText(MINIMAL_YAML, SOURCE);

  assert.deepEqual(config.issuers[0]?.jwks, { file: '/etc/revgate/keys/jwks.json', cooldown: 30_000, timeout: 5000 });
  assert.deepEqual(config.revocation.trustedResponders, { file: '/etc/revgate/responders.jwks.json' });
});

test('parseConfigText absolute file kept', () => {
  const raw = minimalConfig();
  raw.issuers[0] = { ...raw.issuers[0], jwks: { file: '/srv/keys/jwks.json' } };

  assert.deepEqual(parse(raw).issuers[0]?.jwks, { file: '/srv/keys/jwks.json', cooldown: 30_000, timeout: 5000 });
});

test('parseConfigText result frozen', () => {
  const config = parseConfigText(MINIMAL_YAML, SOURCE);

  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.routes));
  assert.ok(Object.isFrozen(config.routes[0]));
  assert.ok(Object.isFrozen(config.issuers[0]?.algorithms));
  assert.ok(Object.isFrozen(config.revocation.nats));
});

test('parseConfigText JSON text', () => {
  const config = parseConfigText(JSON.stringify(minimalConfig()), SOURCE);

  assert.equal(config.issuers[0]?.maxTokenLifetime, 3_600_000);
  assert.equal(config.revocation.stream, 'REVGATE');
});

test('parseConfigText explicit values', () => {
  const raw = minimalConfig();
  raw['listen'] = '[::1]:0';
  raw.revocation = { ...raw.revocation, stream: 'REVOKE_2', maxStaleness: '1m30s' };
  raw.routes = [{ name: 'admin', path: '/admin', methods: ['GET', 'POST'], privileged: true, scopes: ['admin'] }, { path: '/' }];
  const config = parse(raw);

  assert.deepEqual(config.listen, { host: '::1', port: 0 });
  assert.equal(config.revocation.stream, 'REVOKE_2');
  assert.equal(config.revocation.maxStaleness, 90_000);
  assert.deepEqual(config.routes[0]?.methods, ['GET', 'POST']);
  assert.equal(config.routes[0]?.privileged, true);
});

test('parseConfigText https jwks URL', () => {
  const raw = minimalConfig();
  raw.issuers[0] = { ...raw.issuers[0], jwks: { url: 'https://idp.example/.well-known/jwks.json' } };

  assert.deepEqual(parse(raw).issuers[0]?.jwks, { url: 'https://idp.example/.well-known/jwks.json', cooldown: 30_000, timeout: 5_000 });
});

for (const url of ['http://127.0.0.1:8000/jwks', 'http://127.8.9.10/jwks', 'http://localhost:8000/jwks', 'http://[::1]:8000/jwks']) {
  test(`parseConfigText loopback http jwks ${url}`, () => {
    const raw = minimalConfig();
    raw.issuers[0] = { ...raw.issuers[0], jwks: { url } };

    assert.equal((parse(raw).issuers[0]?.jwks as { url: string }).url, url);
  });
}

for (const url of ['http://idp.example/jwks', 'http://10.0.0.1/jwks', 'http://localhost.idp.example/jwks', 'ftp://idp.example/jwks', 'not a url']) {
  test(`parseConfigText rejects jwks ${url}`, () => {
    const raw = minimalConfig();
    raw.issuers[0] = { ...raw.issuers[0], jwks: { url } };

    assertDetail(detailsOf(raw), `issuers[0].jwks.url "${url}": must be an https URL`);
  });
}

test('parseConfigText error code and message', () => {
  const error = configErrorOf('routes: 5');

  assert.equal(error.code, 'ERR_CONFIG_INVALID');
  assert.match(error.message, /^config file \/etc\/revgate\/revgate\.yaml: \d+ problem\(s\)$/);
});

test('parseConfigText reports every field problem', () => {
  const raw = minimalConfig();
  raw['listen'] = 'nowhere';
  raw['lisen'] = '127.0.0.1:8080';
  raw['upstream'] = { url: 'http://127.0.0.1:3000/api' };
  raw.issuers[0] = { ...raw.issuers[0], algorithms: ['EdDSA', 'none'], maxTokenLifetime: '1 hour' };
  raw.routes = [{ path: 'admin' }, { path: '/a/../b' }, { path: '/', methods: ['get'] }];
  raw.revocation = { ...raw.revocation, stream: 'bad stream' };
  const details = detailsOf(raw);

  assertDetail(details, 'listen "nowhere": expected host:port');
  assertDetail(details, 'lisen: unknown field');
  assertDetail(details, 'upstream.url "http://127.0.0.1:3000/api": must be an origin without a path');
  assertDetail(details, 'issuers[0].algorithms[1] "none":');
  assertDetail(details, 'issuers[0].maxTokenLifetime "1 hour": invalid duration');
  assertDetail(details, 'routes[0].path "admin": must start with "/"');
  assertDetail(details, 'routes[1].path "/a/../b": must not contain "." or ".." segments');
  assertDetail(details, 'routes[2].methods[0] "get": must be an upper-case HTTP method');
  assertDetail(details, 'revocation.stream "bad stream":');
  assertDetail(details, 'routes: must include a catch-all route');
  assert.equal(details.length, 10, JSON.stringify(details, null, 2));
});

// Cross-field rules sit on the smallest schema they need, so a field error elsewhere does not hide them.
test('parseConfigText reports cross-field and field problems together', () => {
  const raw = minimalConfig();
  raw.issuers[0] = { ...raw.issuers[0], algorithms: ['HS256'] };
  raw.routes = [{ path: '/admin', privileged: true, auth: 'none' }];
  const details = detailsOf(raw);

  assertDetail(details, 'issuers[0].algorithms[0] "HS256":');
  assertDetail(details, 'routes[0].auth "none": must be "required" on a privileged route');
  assertDetail(details, 'routes: must include a catch-all route');
});

test('parseConfigText missing catch-all route', () => {
  const raw = minimalConfig();
  raw.routes = [{ path: '/api' }];

  assertDetail(detailsOf(raw), 'routes: must include a catch-all route');
});

test('parseConfigText catch-all with methods', () => {
  const raw = minimalConfig();
  raw.routes = [{ path: '/', methods: ['GET'] }];

  assertDetail(detailsOf(raw), 'routes: must include a catch-all route');
});

test('parseConfigText privileged route auth none', () => {
  const raw = minimalConfig();
  raw.routes = [{ path: '/admin', privileged: true, auth: 'none' }, { path: '/' }];

  assertDetail(detailsOf(raw), 'routes[0].auth "none": must be "required" on a privileged route');
});

test('parseConfigText privileged route auth optional', () => {
  const raw = minimalConfig();
  raw.routes = [{ path: '/' }, { path: '/admin', privileged: true, auth: 'optional' }];

  assertDetail(detailsOf(raw), 'routes[1].auth "optional": must be "required" on a privileged route');
});

test('parseConfigText scopes with auth none', () => {
  const raw = minimalConfig();
  raw.routes = [{ path: '/open', auth: 'none', scopes: ['read'] }, { path: '/' }];

  assertDetail(detailsOf(raw), 'routes[0].scopes: cannot be checked on a route with auth "none"');
});

for (const algorithm of ['HS256', 'HS512', 'none', 'rs256']) {
  test(`parseConfigText rejects algorithm ${algorithm}`, () => {
    const raw = minimalConfig();
    raw.issuers[0] = { ...raw.issuers[0], algorithms: [algorithm] };

    assertDetail(detailsOf(raw), `issuers[0].algorithms[0] "${algorithm}":`);
  });
}

test('parseConfigText empty algorithms', () => {
  const raw = minimalConfig();
  raw.issuers[0] = { ...raw.issuers[0], algorithms: [] };

  assertDetail(detailsOf(raw), 'issuers[0].algorithms:');
});

test('parseConfigText unknown keys', () => {
  const raw = minimalConfig();
  raw['lisen'] = '127.0.0.1:8080';
  raw.routes = [{ path: '/', prefix: '/x' }];
  raw.issuers[0] = { ...raw.issuers[0], jwks: { file: 'keys/jwks.json', url: 'https://idp.example/jwks' } };
  raw.revocation = { ...raw.revocation, nats: { servers: ['nats://127.0.0.1:4222'], username: 'revgate' } };
  const details = detailsOf(raw);

  assertDetail(details, 'lisen: unknown field');
  assertDetail(details, 'routes[0].prefix: unknown field');
  assertDetail(details, 'issuers[0].jwks:');
  assertDetail(details, 'revocation.nats.username: unknown field');
});

test('parseConfigText missing required field', () => {
  const raw = minimalConfig();
  delete raw.issuers[0]?.['maxTokenLifetime'];

  assertDetail(detailsOf(raw), 'issuers[0].maxTokenLifetime: missing, expected string');
});

test('parseConfigText missing sections', () => {
  const details = configErrorOf('{}').details;

  assertDetail(details, 'upstream: missing');
  assertDetail(details, 'issuers: missing');
  assertDetail(details, 'routes: missing');
  assertDetail(details, 'revocation: missing');
});

test('parseConfigText empty text', () => {
  assertDetail(configErrorOf('').details, 'config:');
});

test('parseConfigText invalid duration', () => {
  const raw = minimalConfig();
  raw.revocation = { ...raw.revocation, maxStaleness: '5' };

  assertDetail(detailsOf(raw), 'revocation.maxStaleness "5": invalid duration');
});

test('parseConfigText port out of range', () => {
  const raw = minimalConfig();
  raw['admin'] = '127.0.0.1:65536';

  assertDetail(detailsOf(raw), 'admin "127.0.0.1:65536": expected host:port');
});

test('parseConfigText invalid YAML', () => {
  const error = configErrorOf('routes: [\n  - path: /\n');

  assert.equal(error.code, 'ERR_CONFIG_INVALID');
  assert.equal(error.message, `config file ${SOURCE}: invalid YAML`);
  assert.ok(error.details.length > 0);
  assert.match(error.details[0] ?? '', /^line \d+: /);
});

test('parseConfigText duplicate YAML key', () => {
  const error = configErrorOf(`${MINIMAL_YAML}\nroutes:\n  - path: /\n`);

  assert.equal(error.message, `config file ${SOURCE}: invalid YAML`);
  assert.match(error.details[0] ?? '', /unique/);
});

test('parseConfigText duplicate issuer', () => {
  const raw = minimalConfig();
  raw.issuers = [raw.issuers[0] ?? {}, { ...raw.issuers[0], audience: 'other-api' }];

  assertDetail(detailsOf(raw), 'issuers[1].issuer "https://idp.example": is configured twice');
});

for (const header of ['Authorization', 'authorization', 'Host', 'Cookie', 'Transfer-Encoding', 'X-Forwarded-User']) {
  test(`parseConfigText rejects identity header ${header}`, () => {
    const raw = minimalConfig();
    raw['identityHeaders'] = { sub: header };

    assertDetail(detailsOf(raw), `identityHeaders.sub "${header}": names a header that the proxy or HTTP itself controls`);
  });
}

test('parseConfigText identity header invalid name', () => {
  const raw = minimalConfig();
  raw['identityHeaders'] = { sub: 'X Auth Subject' };

  assertDetail(detailsOf(raw), 'identityHeaders.sub "X Auth Subject": must be a valid HTTP header name');
});

test('parseConfigText identity header used twice', () => {
  const raw = minimalConfig();
  raw['identityHeaders'] = { sub: 'X-Auth-User', azp: 'x_auth_user' };

  assertDetail(detailsOf(raw), 'identityHeaders.azp "x_auth_user": uses the same header as claim "sub"');
});

test('parseConfigText revocation defaults', () => {
  const config = parseConfigText(MINIMAL_YAML, SOURCE);

  assert.equal(config.revocation.snapshot, undefined);
  assert.equal(config.revocation.readiness.failWhenStale, false);
  assert.equal(config.revocation.nats.tls, undefined);
  assert.equal(config.revocation.nats.user, undefined);
});

test('parseConfigText route stale settings', () => {
  const raw = minimalConfig();
  raw.routes = [{ path: '/orders', onStale: 'reject', maxStaleness: '30s', startup: 'allow' }, { path: '/' }];
  const route = parse(raw).routes[0];

  assert.equal(route?.onStale, 'reject');
  assert.equal(route?.maxStaleness, 30_000);
  assert.equal(route?.startup, 'allow');
});

test('parseConfigText privileged route onStale allow', () => {
  const raw = minimalConfig();
  raw.routes = [{ path: '/admin', privileged: true, onStale: 'allow' }, { path: '/' }];

  assertDetail(detailsOf(raw), 'routes[0].onStale "allow": cannot be "allow" on a privileged route');
});

test('parseConfigText snapshot path resolved', () => {
  const raw = minimalConfig();
  raw.revocation = { ...raw.revocation, snapshot: { path: 'state/denylist.json' } };
  const snapshot = parse(raw).revocation.snapshot;

  assert.equal(snapshot?.path, '/etc/revgate/state/denylist.json');
  assert.equal(snapshot?.interval, 10_000);
});

test('parseConfigText NATS files resolved', () => {
  const raw = minimalConfig();
  raw.revocation = {
    ...raw.revocation,
    nats: { user: 'revgate', passwordFile: 'secrets/nats-password', tls: { ca: 'tls/ca.pem', cert: '/srv/tls/cert.pem', key: 'tls/key.pem' } },
  };
  const nats = parse(raw).revocation.nats;

  assert.equal(nats.passwordFile, '/etc/revgate/secrets/nats-password');
  assert.deepEqual(nats.tls, { ca: '/etc/revgate/tls/ca.pem', cert: '/srv/tls/cert.pem', key: '/etc/revgate/tls/key.pem' });
});

test('parseConfigText NATS two auth methods', () => {
  const raw = minimalConfig();
  raw.revocation = { ...raw.revocation, nats: { tokenFile: 'nats.token', credsFile: 'nats.creds' } };

  assertDetail(detailsOf(raw), 'revocation.nats: choose one of');
});

test('parseConfigText NATS user without password', () => {
  const raw = minimalConfig();
  raw.revocation = { ...raw.revocation, nats: { user: 'revgate' } };

  assertDetail(detailsOf(raw), 'revocation.nats.passwordFile: user and passwordFile must be given together');
});

test('parseConfigText NATS TLS cert without key', () => {
  const raw = minimalConfig();
  raw.revocation = { ...raw.revocation, nats: { tls: { cert: 'tls/cert.pem' } } };

  assertDetail(detailsOf(raw), 'revocation.nats.tls: cert and key must be given together');
});
