/**
 * The shipped alert rules against a real Prometheus: it scrapes a running proxy every second,
 * nats-server is killed, and the staleness series and the RevgateReplicaStale expression are read
 * back through Prometheus's HTTP API.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { parse } from 'yaml';

import { NatsServer } from '../support/nats.js';
import { PrometheusServer } from '../support/prometheus.js';
import { createWorkspace, eventually, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { initStream } from '../support/streams.js';
import { TestUpstream } from '../support/upstream.js';

const RULES_FILE = fileURLToPath(new URL('../../deploy/monitoring/revgate.rules.yml', import.meta.url));
/** revocation.maxStaleness of the proxy under test, in seconds. */
const MAX_STALENESS = 2;

interface RulesFile {
  groups: { name: string; rules: { alert?: string; expr: string }[] }[];
}

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
let proxy: RunningProxy;
let prometheus: PrometheusServer;

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
  proxy = await startProxy(workspace, {
    upstreamUrl: upstream.url,
    natsUrl: nats.url,
    revocation: { maxStaleness: `${MAX_STALENESS}s`, probeInterval: '250ms' },
  });
  await eventually(async () => proxy.replica.synced(), 10_000);
  prometheus = await PrometheusServer.start({
    targets: [{ address: new URL(proxy.adminUrl).host, labels: { pod: 'revgate-test-0' } }],
    ruleFiles: [RULES_FILE],
    interval: '1s',
  });
});

after(async () => {
  await prometheus?.stop();
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
});

async function alertExpression(name: string): Promise<string> {
  const rules = parse(await readFile(RULES_FILE, 'utf8')) as RulesFile;
  const rule = rules.groups.flatMap((group) => group.rules).find((candidate) => candidate.alert === name);
  assert.ok(rule, `alert ${name} not found in ${RULES_FILE}`);
  return rule.expr;
}

async function firstValue(expression: string): Promise<number | undefined> {
  return (await prometheus.query(expression))[0]?.value;
}

test('stale alert fires after NATS dies', async () => {
  const staleExpression = await alertExpression('RevgateReplicaStale');

  await eventually(async () => (await prometheus.targetHealth()).includes('up'), 15_000, 200);
  await eventually(async () => {
    const staleness = await firstValue('revgate_replica_staleness_seconds');
    return staleness !== undefined && staleness < MAX_STALENESS;
  }, 15_000, 200);
  assert.deepEqual(await prometheus.query(staleExpression), [], 'stale expression is false while NATS runs');
  assert.equal(await firstValue('revgate_replica_max_staleness_seconds'), MAX_STALENESS);

  await nats.stop('SIGKILL');
  const killedAt = Date.now();

  await eventually(async () => ((await firstValue('revgate_replica_staleness_seconds')) ?? 0) > MAX_STALENESS, 15_000, 250);
  assert.ok(Date.now() - killedAt >= MAX_STALENESS * 1000 - 500, 'staleness crossed the limit no sooner than maxStaleness after the kill');

  await eventually(async () => (await prometheus.query(staleExpression)).length === 1, 10_000, 250);
  const [sample] = await prometheus.query(staleExpression);
  assert.equal(sample?.metric['pod'], 'revgate-test-0');
  assert.ok((sample?.value ?? 0) > MAX_STALENESS);

  // The rule engine evaluates the same file every second; with `for: 30s` the alert is pending first.
  await eventually(async () => (await prometheus.query('ALERTS{alertname="RevgateReplicaStale", alertstate="pending"}')).length === 1, 10_000, 250);
  await eventually(async () => (await firstValue('revgate_nats_connected')) === 0, 10_000, 250);
});
