/**
 * `revgate explain <JWT|->`: would this token be accepted now on a route, and if not, exactly why
 * (signature, claims, lifetime, or which revocation, with its id, kind, actor, reason and time).
 *
 * By default it asks a running proxy's admin API. With `--config` it builds the proxy's checks
 * itself and reads the revocation streams from NATS (`--nats` overrides the config's servers), which
 * works when no proxy is at hand.
 */
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';

import { IssuerRegistry } from '../auth/issuers.js';
import { TokenVerifier } from '../auth/verify.js';
import { formatDuration } from '../config/duration.js';
import { loadConfig } from '../config/load.js';
import { RevgateError } from '../errors.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Denylist } from '../revocation/denylist.js';
import { RevocationReplica } from '../revocation/replica.js';
import { loadResponderKeys } from '../revocation/responder-keys.js';
import { RouteTable } from '../routes/route-table.js';
import { revocationView } from '../server/admin-revocations.js';
import { IssuerBoundsTable } from '../server/issuer-bounds.js';
import { RequestPipeline, type Explanation } from '../server/pipeline.js';
import { createUpstreamPool } from '../upstream/pool.js';
import { VERSION } from '../version.js';
import { adminOption, requestAdmin } from './admin-client.js';
import { EXIT, parseDurationFlag, parseServers, readTokenArgument } from './common.js';

interface ExplainOptions {
  admin: string;
  path: string;
  method: string;
  config?: string;
  nats?: string;
  timeout: string;
  json?: boolean;
}

/** Exit code of `explain` when the token would be rejected. */
export const EXIT_REJECTED = 3;

export function explainCommand(): Command {
  return new Command('explain')
    .description('tell whether a token would be accepted now on a route, and if not, why')
    .argument('<jwt>', 'the token, or - to read it from standard input')
    .option('--path <path>', 'request path to check, as a client would send it', '/')
    .option('--method <method>', 'request method', 'GET')
    .addOption(adminOption())
    .option('-c, --config <file>', 'check locally with this proxy config, reading the streams from NATS instead of asking a proxy')
    .addOption(new Option('--nats <urls>', 'with --config: NATS servers to read from, comma-separated'))
    .option('--timeout <duration>', 'with --config: how long to wait for the streams to be read', '30s')
    .option('--json', 'print the result as one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  echo "$TOKEN" | revgate explain - --path /admin/users
  revgate explain - --config revgate.yaml --nats nats://10.0.0.5:4222 < token.txt

Exit codes: 0 accepted, ${EXIT_REJECTED} rejected, 1 the check failed, 2 invalid command line.`,
    )
    .action(async (argument: string, options: ExplainOptions) => {
      const token = await readTokenArgument(argument);
      const method = options.method.toUpperCase();
      const result = options.config === undefined ? await explainRemotely(token, method, options) : await explainLocally(token, method, options);
      print(result, options);
      if (!(result as { accepted?: boolean }).accepted) process.exitCode = EXIT_REJECTED;
      else process.exitCode = EXIT.ok;
    });
}

async function explainRemotely(token: string, method: string, options: ExplainOptions): Promise<Record<string, unknown>> {
  const { status, body } = await requestAdmin(options.admin, '/explain', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, method, path: options.path }),
  });
  if (status !== 200) throw new RevgateError('ERR_NATS_UNAVAILABLE', `admin API responded with status ${status}: ${JSON.stringify(body)}`);
  return body as Record<string, unknown>;
}

async function explainLocally(token: string, method: string, options: ExplainOptions): Promise<Record<string, unknown>> {
  const loaded = await loadConfig(options.config!);
  const servers = options.nats === undefined ? loaded.config.revocation.nats.servers : parseServers(options.nats);
  const revocation = { ...loaded.config.revocation, nats: { ...loaded.config.revocation.nats, servers, name: 'revgate-explain' }, snapshot: undefined };
  const config = { ...loaded.config, revocation };
  const logger = createLogger('silent');
  const metrics = new Metrics(new Registry(), VERSION);
  const denylist = new Denylist(new IssuerBoundsTable(config).lookup(), { versionClaim: revocation.versionClaim });
  const replica = new RevocationReplica({ config: revocation, denylist, responderKeys: await loadResponderKeys(revocation), logger, metrics });
  const upstream = createUpstreamPool(config.upstream);
  const pipeline = new RequestPipeline({
    config,
    routes: new RouteTable(config.routes, revocation.maxStaleness),
    verifier: new TokenVerifier(await IssuerRegistry.load(config.issuers), { cacheEntries: 0 }),
    denylist,
    freshness: replica,
    upstream,
    logger,
    metrics,
  });

  await replica.start();
  try {
    await waitForSync(replica, parseDurationFlag(options.timeout, '--timeout'), servers);
    const result = await pipeline.explain(token, method, options.path);
    return { ...result, revocation: result.revocation ? revocationView(result.revocation) : undefined };
  } finally {
    await replica.close();
    await upstream.close();
  }
}

async function waitForSync(replica: RevocationReplica, timeout: number, servers: readonly string[]): Promise<void> {
  const deadline = Date.now() + timeout;
  process.stderr.write(`reading the revocation streams from ${servers.join(', ')}...\n`);
  while (!replica.synced()) {
    if (Date.now() > deadline) {
      throw new RevgateError('ERR_NATS_UNAVAILABLE', `revocation streams not read within ${formatDuration(timeout)}; is NATS reachable at ${servers.join(', ')}?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function print(result: Record<string, unknown>, flags: ExplainOptions): void {
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const explanation = result as unknown as Explanation & { revocation?: Record<string, unknown> };
  const token = explanation.token;
  const lines = [
    `route:    ${explanation.route ?? '(none)'} for ${flags.method.toUpperCase()} ${flags.path}`,
    `token:    ${token ? `iss ${token.iss}, kid ${token.kid ?? '-'}, jti ${token.jti ?? '-'}` : 'not verified'}`,
    `decision: ${explanation.accepted ? 'ACCEPTED' : 'REJECTED'} ${explanation.status} ${explanation.reason}`,
    `why:      ${REASONS[explanation.reason] ?? explanation.reason}`,
  ];
  const revocation = explanation.revocation;
  if (revocation) {
    lines.push(
      `revoked:  ${String(revocation['id'])} (${String(revocation['kind'])}), issued ${String(revocation['issuedAt'])}`,
      `          by ${String(revocation['actor'] ?? '-')} with key ${String(revocation['signedBy'])}: ${String(revocation['reason'])}`,
      `          ${revocation['expiresAt'] ? `expires ${String(revocation['expiresAt'])}` : 'until lifted'}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** One line per reason, in the terms a responder looks for: signature, claims, lifetime, revocation. */
const REASONS: Record<string, string> = {
  ok: 'signature, claims and lifetime are valid, no revocation matches, and the route policy allows it',
  malformed_token: 'signature: the token is not a well-formed compact JWS',
  unknown_issuer: 'claims: iss names no configured issuer',
  unknown_key: "signature: no key of the issuer's JWKS matches the token's kid and alg",
  algorithm_not_allowed: "signature: alg is not in the issuer's allowed algorithms",
  invalid_signature: 'signature: does not verify',
  invalid_claims: 'claims: aud, iss, typ or a claim type is wrong, or exp or iat is missing',
  token_expired: 'lifetime: exp has passed',
  token_not_yet_valid: 'lifetime: nbf or iat lies in the future',
  lifetime_exceeded: "lifetime: exp - iat or exp - now exceeds the issuer's maxTokenLifetime",
  invalid_claim_value: 'claims: a forwarded claim contains a control character',
  token_revoked: 'revocation: a revocation matches (below)',
  insufficient_scope: "claims: the token lacks a scope the route requires",
  keys_unavailable: "signature: the issuer's keys could not be loaded",
  revocation_state_stale: 'route policy: the revocation replica is stale and the route rejects when stale',
  invalid_path: 'route: the path is ambiguous',
  method_not_allowed: 'route: no route matches the method',
};
