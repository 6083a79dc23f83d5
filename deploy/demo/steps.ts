/**
 * The four walkthrough steps. Each prints its checks as PASS or FAIL. A failed step does not stop
 * the later ones, because they show different properties.
 */
import { CLI, MAX_STALENESS_MS, PROBE_INTERVAL_MS, TOKEN_LIFETIME_SECONDS, formatDuration, runRevgate, type Demo } from './setup.js';
import { describeLastAttempt, describeStatus, httpGet, pollUntil, type HttpResult } from './http.js';
import type { MintedToken } from './issuer.js';
import { abbreviateToken, type Step } from './report.js';
import type { EchoReply } from './upstream.js';

/** Maximum time from the revoke command's exit, when JetStream has acknowledged the event, until the proxy rejects the token. */
const REVOCATION_LIMIT_MS = 1000;
/** Slack allowed past maxStaleness for the polling interval and a busy machine. */
const STALENESS_MARGIN_MS = 2000;
const RECOVERY_TIMEOUT_MS = 20_000;

export interface WalkthroughStep {
  title: string;
  run(demo: Demo, step: Step): Promise<void>;
}

export const WALKTHROUGH: readonly WalkthroughStep[] = [
  { title: 'a valid token is accepted', run: acceptValidTokens },
  { title: "revoke alice's token", run: revokeAlice },
  { title: 'stop NATS: privileged routes fail closed, others keep working', run: stopNats },
  { title: 'restart NATS: privileged routes recover, the revocation stays in force', run: restartNats },
];

async function acceptValidTokens(demo: Demo, step: Step): Promise<void> {
  const root = await httpGet(`${demo.proxyUrl}/`, demo.alice.compact);
  step.check(
    root.status === 200 && parseEcho(root)?.subject === 'alice',
    `${requestLine('/', demo.alice)} -> ${describeStatus(root)}, the upstream received ${root.body}`,
  );
  await expectStatus(step, demo, '/admin', demo.alice, 200);
  await expectStatus(step, demo, '/healthz', undefined, 200);
  await expectStatus(step, demo, '/', undefined, 401);
}

async function revokeAlice(demo: Demo, step: Step): Promise<void> {
  const elapsedMs = await revokeAndWaitFor401(step, demo, demo.alice);
  step.headline = elapsedMs === undefined ? 'never 401' : `401 after ${elapsedMs} ms`;
  await expectStatus(step, demo, '/', demo.bob, 200);
}

async function stopNats(demo: Demo, step: Step): Promise<void> {
  await demo.nats.stop('SIGKILL');
  const since = performance.now();
  step.note(`killed nats-server with SIGKILL, as in a crash (maxStaleness ${formatDuration(MAX_STALENESS_MS)}, probeInterval ${formatDuration(PROBE_INTERVAL_MS)})`);
  await expectStatus(step, demo, '/admin', demo.bob, 200, ' at once: the replica is still fresh enough');

  // Each poll also requests an unprivileged route, which must return 200 throughout the outage.
  const unprivilegedStatuses: string[] = [];
  const probeBoth = async () => {
    const unprivileged = await httpGet(`${demo.proxyUrl}/`, demo.bob.compact);
    unprivilegedStatuses.push(describeStatus(unprivileged));
    return httpGet(`${demo.proxyUrl}/admin`, demo.bob.compact);
  };
  // The last confirmed probe may predate the kill by up to one probe interval.
  const earliest = MAX_STALENESS_MS - PROBE_INTERVAL_MS;
  const latest = MAX_STALENESS_MS + STALENESS_MARGIN_MS;
  const outcome = await pollUntil(probeBoth, (result) => result.status === 503, { timeoutMs: latest + 1000, intervalMs: 100, since });

  const status = describeLastAttempt(outcome);
  const retryAfter = outcome.last?.headers.get('retry-after') ?? 'missing';
  step.check(
    outcome.done && outcome.elapsedMs >= earliest && outcome.elapsedMs <= latest,
    `${requestLine('/admin', demo.bob)} -> ${status} after ${seconds(outcome.elapsedMs)} ` +
      `(expected between ${seconds(earliest)} and ${seconds(latest)}), Retry-After: ${retryAfter}`,
  );
  step.headline = outcome.done ? `503 after ${seconds(outcome.elapsedMs)}` : 'never 503';

  const unexpected = unprivilegedStatuses.filter((text) => text !== '200');
  step.check(
    unprivilegedStatuses.length > 0 && unexpected.length === 0,
    `${requestLine('/', demo.bob)} -> 200 on all ${unprivilegedStatuses.length} polls meanwhile` +
      (unexpected.length === 0 ? '' : `, but also ${[...new Set(unexpected)].join(', ')}`),
  );
  await expectStatus(step, demo, '/', demo.bob, 200, ' after the 503: unprivileged routes keep working');
  await expectStatus(step, demo, '/', demo.alice, 401, ': the revocation is still enforced');
  await showStaleness(step, demo);
}

async function restartNats(demo: Demo, step: Step): Promise<void> {
  await demo.nats.start();
  const since = performance.now();
  step.note(`restarted nats-server on ${demo.nats.url} with the same JetStream store`);

  const outcome = await pollUntil(() => httpGet(`${demo.proxyUrl}/admin`, demo.bob.compact), (result) => result.status === 200, {
    timeoutMs: RECOVERY_TIMEOUT_MS,
    intervalMs: 100,
    since,
  });
  const status = describeLastAttempt(outcome);
  step.check(outcome.done, `${requestLine('/admin', demo.bob)} -> ${status} after ${seconds(outcome.elapsedMs)}`);
  step.headline = outcome.done ? `200 after ${seconds(outcome.elapsedMs)}` : 'never 200';

  const ready = await httpGet(`${demo.adminUrl}/readyz`);
  step.check(ready.status === 200, `GET /readyz on the admin listener -> ${ready.status} ${ready.body}`);
  await expectStatus(step, demo, '/', demo.alice, 401, ': still revoked');

  // A revocation published after the restart shows that the replica consumes the stream again.
  const carol = await demo.issuer.mint('carol', TOKEN_LIFETIME_SECONDS);
  await expectStatus(step, demo, '/', carol, 200);
  await revokeAndWaitFor401(step, demo, carol);
}

/**
 * Runs `revgate revoke token -` with the token on standard input, then polls the token on / until
 * it gets 401. Returns the milliseconds from the command's exit to the 401, or undefined when the
 * command failed or no 401 came.
 */
async function revokeAndWaitFor401(step: Step, demo: Demo, token: MintedToken): Promise<number | undefined> {
  const args = ['revoke', 'token', '-', '--signing-key', demo.signingKeyFile, '--reason', 'demo: token leaked', '--nats', demo.nats.url];
  const result = await runRevgate(args, token.compact);
  step.command(['node', CLI, ...args], result.stderr + result.stdout, `   (${token.sub}'s token on standard input)`);
  if (!step.check(result.exitCode === 0, `revoke exited with code ${result.exitCode} after ${Math.round(result.durationMs)} ms`)) return undefined;

  const outcome = await pollUntil(() => httpGet(`${demo.proxyUrl}/`, token.compact), (response) => response.status === 401, {
    timeoutMs: 5000,
    intervalMs: 10,
  });
  step.check(
    outcome.done && outcome.elapsedMs < REVOCATION_LIMIT_MS,
    `${requestLine('/', token)} -> ${describeLastAttempt(outcome)} after ${outcome.elapsedMs} ms, counted from the command's exit (limit ${REVOCATION_LIMIT_MS} ms)`,
  );
  return outcome.done ? outcome.elapsedMs : undefined;
}

/** Prints the staleness gauge as `curl ADMIN/metrics | grep` would, and checks that it is above maxStaleness. */
async function showStaleness(step: Step, demo: Demo): Promise<void> {
  const metrics = await httpGet(`${demo.adminUrl}/metrics`);
  const name = 'revgate_replica_staleness_seconds';
  const line = metrics.body.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  step.note(`admin /metrics, as "curl -s ${demo.adminUrl}/metrics | grep '^${name} '" shows it:`);
  step.note(`| ${line ?? '(no such line)'}`);
  const value = Number(line?.split(' ')[1]);
  step.check(value > MAX_STALENESS_MS / 1000, `${name} is ${Number.isNaN(value) ? 'missing' : value}, expected above maxStaleness (${MAX_STALENESS_MS / 1000})`);
}

async function expectStatus(step: Step, demo: Demo, path: string, token: MintedToken | undefined, expected: number, comment = ''): Promise<HttpResult> {
  const result = await httpGet(`${demo.proxyUrl}${path}`, token?.compact);
  const mismatch = result.status === expected ? '' : `, expected ${expected}`;
  step.check(result.status === expected, `${requestLine(path, token)} -> ${describeStatus(result)}${mismatch}${comment}`);
  return result;
}

/** Describes a request in aligned columns, such as `GET /admin   with bob's token eyJhbGciOiJF...`. */
function requestLine(path: string, token: MintedToken | undefined): string {
  const credential = token === undefined ? 'without a token' : `with ${token.sub}'s token ${abbreviateToken(token.compact)}`;
  return `GET ${path.padEnd(8)} ${credential}`;
}

function parseEcho(result: HttpResult): EchoReply | undefined {
  try {
    return JSON.parse(result.body) as EchoReply;
  } catch {
    return undefined;
  }
}

function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`;
}
