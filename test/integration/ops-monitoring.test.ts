/**
 * The metrics a live proxy exposes, checked with promtool, and the files under deploy/monitoring.
 * The rules must pass promtool, and the PrometheusRule must equal the plain rules file. Rules and
 * dashboard may name only metrics the proxy exports, and docs/metrics.md must document all of them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { parse } from 'yaml';

import { ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { runPromtool } from '../support/prometheus.js';
import { createWorkspace, eventually, get, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

const repoFile = (relative: string) => fileURLToPath(new URL(`../../${relative}`, import.meta.url));
const RULES_FILE = repoFile('deploy/monitoring/revgate.rules.yml');
const OPERATOR_RULES_FILE = repoFile('deploy/monitoring/prometheus-rule.yaml');
const DASHBOARD_FILE = repoFile('deploy/monitoring/grafana-dashboard.json');
const METRICS_DOC = repoFile('docs/metrics.md');

/**
 * prom-client's default metrics that break promtool's naming lint: gauges whose names end in
 * `_total`. They come from prom-client 15 as they are.
 */
const PROM_CLIENT_LINT_EXCEPTIONS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
let proxy: RunningProxy;
let scrape: string;

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url });
  await eventually(async () => proxy.replica.synced(), 10_000);
  await produceEveryLabelledSeries();
  scrape = (await get(proxy.adminUrl, '/metrics')).body;
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

/** Sends traffic and events so that every metric with labels has at least one series. */
async function produceEveryLabelledSeries(): Promise<void> {
  const token = await workspace.issuer.token();
  assert.equal((await get(proxy.proxyUrl, '/orders', token)).status, 200);
  assert.equal((await get(proxy.proxyUrl, '/orders', token)).status, 200);
  assert.equal((await get(proxy.proxyUrl, '/orders')).status, 401);
  assert.equal((await get(proxy.proxyUrl, '/slow', token)).status, 504);

  const revoked = await workspace.issuer.token({ claims: { jti: 'monitoring-revoked' } });
  await workspace.responder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: 'monitoring-revoked' });
  await workspace.untrustedResponder.revoke(nats.url, { kind: 'token', iss: ISSUER, jti: 'monitoring-forged' });
  await eventually(async () => (await get(proxy.proxyUrl, '/orders', revoked)).status === 401, 5000);
  await eventually(async () => (await get(proxy.adminUrl, '/metrics')).body.includes('result="rejected"'), 5000);
}

/** Names of the metric families in an exposition, from their `# TYPE` lines. */
function familyNames(exposition: string): string[] {
  return [...exposition.matchAll(/^# TYPE (\S+) \S+$/gm)].map((match) => match[1]!);
}

/** Keeps only the families whose names start with `prefix`. */
function familiesWithPrefix(exposition: string, prefix: string): string {
  const kept = exposition.split('\n').filter((line) => {
    const name = line.startsWith('#') ? line.split(' ')[2] : line.split(/[{ ]/)[0];
    return name?.startsWith(prefix);
  });
  return `${kept.join('\n')}\n`;
}

/** Metric names a PromQL text or dashboard mentions, with histogram series suffixes removed. */
function mentionedMetrics(text: string): string[] {
  const names = [...text.matchAll(/\brevgate_[a-z_]+/g)].map((match) => match[0].replace(/_(bucket|sum|count)$/, ''));
  return [...new Set(names)].sort();
}

describe('live /metrics', () => {
  test('passes promtool check metrics', async () => {
    const result = await runPromtool(['check', 'metrics'], scrape);
    const problems = result.output.split('\n').filter((line) => line.trim() !== '');
    const unexpected = problems.filter((line) => !PROM_CLIENT_LINT_EXCEPTIONS.some((name) => line.startsWith(`${name} `)));
    assert.deepEqual(unexpected, [], `promtool reported:\n${result.output}`);
  });

  test('revgate families pass promtool cleanly', async () => {
    const result = await runPromtool(['check', 'metrics'], familiesWithPrefix(scrape, 'revgate_'));
    assert.equal(result.output.trim(), '');
    assert.equal(result.code, 0);
  });

  test('contains every documented series kind', () => {
    const names = familyNames(scrape);
    for (const name of [
      'revgate_requests_total', 'revgate_request_duration_seconds', 'revgate_upstream_duration_seconds',
      'revgate_jwt_verification_duration_seconds', 'revgate_verification_cache_hits_total', 'revgate_verification_cache_misses_total',
      'revgate_replica_staleness_seconds', 'revgate_replica_applied_sequence', 'revgate_revocation_events_total', 'revgate_revocation_entries',
      'revgate_nats_connected', 'revgate_nats_reconnects_total', 'revgate_upstream_errors_total', 'revgate_build_info',
      'revgate_config_reloads_total', 'revgate_config_last_reload_successful', 'revgate_ready', 'revgate_requests_in_flight',
      'process_cpu_seconds_total',
    ]) {
      assert.ok(names.includes(name), `${name} missing from /metrics`);
    }
  });

  test('cache counters follow the verifier', () => {
    assert.match(scrape, /^revgate_verification_cache_hits_total [1-9]/m);
    assert.match(scrape, /^revgate_verification_cache_misses_total [1-9]/m);
  });

  test('upstream timeout counted by code', () => {
    assert.match(scrape, /^revgate_upstream_errors_total\{code="UND_ERR_HEADERS_TIMEOUT"\} 1$/m);
  });

  test('no token or claim in the scrape', async () => {
    const token = await workspace.issuer.token({ claims: { sub: 'metrics-secret-subject' } });
    await get(proxy.proxyUrl, '/orders', token);
    const body = (await get(proxy.adminUrl, '/metrics')).body;
    assert.ok(!body.includes(token.split('.')[2]!), 'token signature in /metrics');
    assert.ok(!body.includes('metrics-secret-subject'), 'sub claim in /metrics');
  });
});

describe('deploy/monitoring', () => {
  test('rules pass promtool check rules', async () => {
    const result = await runPromtool(['check', 'rules', RULES_FILE]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS: 7 rules found/);
  });

  test('PrometheusRule equals the rules file', async () => {
    const plain = parse(await readFile(RULES_FILE, 'utf8')) as { groups: unknown };
    const resource = parse(await readFile(OPERATOR_RULES_FILE, 'utf8')) as { apiVersion: string; kind: string; spec: { groups: unknown } };
    assert.equal(resource.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(resource.kind, 'PrometheusRule');
    assert.deepEqual(resource.spec.groups, plain.groups);
  });

  test('every required alert exists', async () => {
    const plain = parse(await readFile(RULES_FILE, 'utf8')) as { groups: { rules: { alert: string }[] }[] };
    const alerts = plain.groups.flatMap((group) => group.rules.map((rule) => rule.alert));
    for (const alert of ['RevgateReplicaStale', 'RevgateNatsDisconnected', 'RevgateRevocationEventsRejected', 'RevgateConfigReloadFailed', 'RevgateUpstreamErrorRate', 'RevgateNoReplicaReady']) {
      assert.ok(alerts.includes(alert), `${alert} missing from ${RULES_FILE}`);
    }
  });

  test('rules name only exported metrics', async () => {
    const exported = familyNames(scrape);
    for (const name of mentionedMetrics(await readFile(RULES_FILE, 'utf8'))) {
      assert.ok(exported.includes(name), `rules use ${name}, which /metrics does not export`);
    }
  });

  test('dashboard names only exported metrics', async () => {
    const text = await readFile(DASHBOARD_FILE, 'utf8');
    const exported = familyNames(scrape);
    for (const name of mentionedMetrics(text)) {
      assert.ok(exported.includes(name), `dashboard uses ${name}, which /metrics does not export`);
    }
  });

  test('dashboard panels are well formed', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as {
      uid: string;
      panels: { id: number; type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
    };
    assert.equal(dashboard.uid, 'revgate-overview');
    const ids = dashboard.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const panel of dashboard.panels.filter((candidate) => candidate.type !== 'row')) {
      assert.equal(panel.datasource?.uid, '${datasource}', `panel "${panel.title}" uses the datasource variable`);
      assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has a query`);
    }
    const titles = dashboard.panels.map((panel) => panel.title);
    for (const title of ['Replica staleness per pod', 'Decisions', 'Request latency', 'Revocation events read']) {
      assert.ok(titles.includes(title), `dashboard has no panel "${title}"`);
    }
  });
});

describe('docs/metrics.md', () => {
  test('documents every exported revgate metric', async () => {
    const doc = await readFile(METRICS_DOC, 'utf8');
    for (const name of familyNames(scrape).filter((candidate) => candidate.startsWith('revgate_'))) {
      assert.ok(doc.includes(`\`${name}\``), `${name} is exported but not documented in docs/metrics.md`);
    }
  });
});
