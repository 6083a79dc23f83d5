import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RouteConfig } from '../../proxy/config/schema.js';
import { RouteTable } from '../../proxy/routes/route-table.js';

/** Builds a route config with the schema's defaults, as the config loader produces it. */
function route(fields: Partial<RouteConfig> & { path: string }): RouteConfig {
  return { auth: 'required', privileged: false, ...fields };
}

/** The `revocation.maxStaleness` default, in milliseconds. */
const MAX_STALENESS = 5_000;

const TABLE = new RouteTable([
  route({ name: 'admin', path: '/admin', privileged: true, scopes: ['admin'] }),
  route({ name: 'admin-public', path: '/admin/public', auth: 'none' }),
  route({ name: 'uploads', path: '/uploads', methods: ['POST', 'PUT'] }),
  route({ name: 'reports', path: '/reports', methods: ['GET'] }),
  route({ name: 'health', path: '/Health', auth: 'none' }),
  route({ path: '/' }),
], MAX_STALENESS);

/** Canonical path, method, and the name of the route that must match. */
const MATCHES: readonly { path: string; method: string; name: string }[] = [
  { path: '/admin', method: 'GET', name: 'admin' },
  { path: '/admin/users', method: 'DELETE', name: 'admin' },
  { path: '/admin/public/x', method: 'GET', name: 'admin' },
  { path: '/admin-panel', method: 'GET', name: 'admin' },
  { path: '/administrator', method: 'GET', name: 'admin' },
  { path: '/ADMIN', method: 'GET', name: 'admin' },
  { path: '/Admin/Users', method: 'GET', name: 'admin' },
  { path: '/adm', method: 'GET', name: '/' },
  { path: '/x/admin', method: 'GET', name: '/' },
  { path: '/uploads/a', method: 'POST', name: 'uploads' },
  { path: '/uploads/a', method: 'PUT', name: 'uploads' },
  { path: '/uploads/a', method: 'GET', name: '/' },
  { path: '/uploads/a', method: 'HEAD', name: '/' },
  { path: '/reports/q1', method: 'GET', name: 'reports' },
  { path: '/reports/q1', method: 'HEAD', name: 'reports' },
  { path: '/reports/q1', method: 'POST', name: '/' },
  { path: '/health', method: 'GET', name: 'health' },
  { path: '/HEALTH', method: 'GET', name: 'health' },
  { path: '/', method: 'OPTIONS', name: '/' },
  { path: '/other', method: 'PATCH', name: '/' },
];

for (const { path, method, name } of MATCHES) {
  test(`RouteTable ${method} ${path}`, () => {
    assert.equal(TABLE.match(path, method)?.name, name);
  });
}

test('RouteTable first match wins', () => {
  const reordered = new RouteTable([
    route({ name: 'admin-public', path: '/admin/public', auth: 'none' }),
    route({ name: 'admin', path: '/admin', privileged: true }),
    route({ path: '/' }),
  ], MAX_STALENESS);

  assert.equal(reordered.match('/admin/public/x', 'GET')?.name, 'admin-public');
  assert.equal(reordered.match('/admin/users', 'GET')?.name, 'admin');
});

test('RouteTable no match without catch-all', () => {
  const table = new RouteTable([route({ path: '/api', methods: ['GET'] })], MAX_STALENESS);

  assert.equal(table.match('/other', 'GET'), undefined);
  assert.equal(table.match('/api', 'POST'), undefined);
});

test('RouteTable default name is the path', () => {
  const table = new RouteTable([route({ path: '/Api/v1' })], MAX_STALENESS);

  assert.equal(table.match('/api/v1', 'GET')?.name, '/Api/v1');
});

test('RouteTable route fields', () => {
  const admin = TABLE.match('/admin', 'GET');

  assert.ok(admin);
  assert.equal(admin.path, '/admin');
  assert.equal(admin.auth, 'required');
  assert.equal(admin.privileged, true);
  assert.deepEqual(admin.scopes, ['admin']);
  assert.equal(admin.methods, undefined);
});

test('RouteTable default scopes empty', () => {
  assert.deepEqual(TABLE.match('/', 'GET')?.scopes, []);
});

test('RouteTable original path case kept', () => {
  assert.equal(TABLE.match('/health', 'GET')?.path, '/Health');
});

test('RouteTable HEAD added to GET methods', () => {
  const reports = TABLE.match('/reports', 'GET');

  assert.ok(reports?.methods);
  assert.deepEqual([...reports.methods].sort(), ['GET', 'HEAD']);
});

test('RouteTable explicit HEAD not duplicated', () => {
  const table = new RouteTable([route({ path: '/r', methods: ['HEAD', 'GET'] })], MAX_STALENESS);
  const match = table.match('/r', 'HEAD');

  assert.ok(match?.methods);
  assert.deepEqual([...match.methods].sort(), ['GET', 'HEAD']);
});

test('RouteTable HEAD alone allows no GET', () => {
  const table = new RouteTable([route({ path: '/r', methods: ['HEAD'] })], MAX_STALENESS);

  assert.equal(table.match('/r', 'GET'), undefined);
  assert.equal(table.match('/r', 'HEAD')?.path, '/r');
});

test('RouteTable privileged route rejects when stale', () => {
  const admin = TABLE.match('/admin', 'GET');

  assert.equal(admin?.onStale, 'reject');
  assert.equal(admin?.startup, 'reject');
});

test('RouteTable other route allows when stale', () => {
  const other = TABLE.match('/other', 'GET');

  assert.equal(other?.onStale, 'allow');
  assert.equal(other?.startup, 'allow');
});

test('RouteTable default maxStaleness', () => {
  assert.equal(TABLE.match('/admin', 'GET')?.maxStaleness, MAX_STALENESS);
});

test('RouteTable route stale settings', () => {
  const table = new RouteTable([
    route({ path: '/orders', onStale: 'reject', maxStaleness: 30_000 }),
    route({ path: '/reports', onStale: 'reject', startup: 'allow' }),
    route({ path: '/', onStale: 'allow', startup: 'reject' }),
  ], MAX_STALENESS);
  const orders = table.match('/orders', 'GET');
  const reports = table.match('/reports', 'GET');
  const other = table.match('/other', 'GET');

  assert.equal(orders?.onStale, 'reject');
  assert.equal(orders?.maxStaleness, 30_000);
  assert.equal(orders?.startup, 'reject');
  assert.equal(reports?.startup, 'allow');
  assert.equal(reports?.maxStaleness, MAX_STALENESS);
  assert.equal(other?.onStale, 'allow');
  assert.equal(other?.startup, 'reject');
});
