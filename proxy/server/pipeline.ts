/**
 * The request pipeline: one small stage per decision, run in this order.
 *
 *   canonicalize the target -> match the route -> authenticate (extract and verify the bearer token)
 *   -> check revocation -> check scopes -> apply the staleness policy -> forward upstream
 *
 * A stage either records what it learned on the exchange or throws a Rejection. Every request ends
 * with one count in the requests metric and one access-log line, with the same reason the client
 * saw. Only allowed requests may go unlogged, when `logging.accessLogSampleRate` is below 1.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Dispatcher } from 'undici';

import { extractBearerToken } from '../auth/bearer.js';
import { scopesOf } from '../auth/claims.js';
import { identityHeaders } from '../auth/identity.js';
import { KeysUnavailableError } from '../auth/issuers.js';
import type { TokenVerifier, VerifiedToken } from '../auth/verify.js';
import type { Config } from '../config/schema.js';
import { Rejection, type RejectionReason } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Decision, Metrics, VerificationResult } from '../observability/metrics.js';
import { RepeatLimiter } from '../observability/repeat-limiter.js';
import type { DenylistEntry, Denylist } from '../revocation/denylist.js';
import { canonicalizeTarget, type CanonicalTarget } from '../routes/canonical-path.js';
import type { Route, RouteTable } from '../routes/route-table.js';
import { UpstreamError, forwardRequest } from '../upstream/forward.js';
import { checkConnectionOptions, checkTransferCoding } from '../upstream/forwardable.js';
import { buildUpstreamHeaders, normalizeHeaderName } from '../upstream/headers.js';
import { TrustedProxies } from '../upstream/trusted-proxies.js';
import type { RequestPolicy } from './policy.js';
import { sendRejection } from './responses.js';
import type { AuthorizedUpgrade } from './upgrade.js';

/** Interval within which a warning or error that can repeat per request is written once per key. */
const REPEATED_LOG_INTERVAL_MS = 10_000;

/** A Host value: a registered name, an IPv4 address or a bracketed IPv6 address, with an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The rejection of a revoked token, carrying the entry that matched for the audit log. */
class RevokedRejection extends Rejection {
  constructor(readonly entry: DenylistEntry) {
    super('token_revoked');
  }
}

/** Decision the pipeline would take for a token on a route, for `revgate explain`. */
export interface Explanation {
  accepted: boolean;
  status: number;
  reason: RejectionReason | 'ok';
  route: string | undefined;
  /** Only iss, kid and jti of a verified token, as in the access log. */
  token: { iss: string; kid: string | undefined; jti: string | undefined } | undefined;
  revocation?: DenylistEntry | undefined;
}

function describeToken(token: VerifiedToken | undefined): Explanation['token'] {
  if (!token) return undefined;
  return { iss: token.iss, kid: token.kid, jti: typeof token.claims.jti === 'string' ? token.claims.jti : undefined };
}

/** Freshness of the revocation replica, as the staleness policy reads it. */
export interface FreshnessSource {
  /** Seconds since the replica was last confirmed current; Infinity while it has no state. */
  stalenessSeconds(): number;
}

export interface PipelineDependencies {
  config: Config;
  routes: RouteTable;
  verifier: TokenVerifier;
  denylist: Denylist;
  freshness: FreshnessSource;
  upstream: Dispatcher;
  logger: Logger;
  metrics: Metrics;
  /** Shared by the pipelines of successive policies; created when absent. */
  repeats?: RepeatLimiter;
}

/** Everything learned about one request as it moves through the stages. */
interface Exchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly startedAt: number;
  target?: CanonicalTarget;
  route?: Route;
  token?: VerifiedToken;
  revocation?: DenylistEntry;
  upstreamSeconds?: number;
}

export class RequestPipeline {
  private readonly deps: PipelineDependencies;
  private readonly identityHeaderNames: ReadonlySet<string>;
  private readonly trustedProxies: TrustedProxies;
  private readonly repeats: RepeatLimiter;
  /** The pipeline of the newest policy, which handles requests that arrive here; see usePolicy(). */
  private current: RequestPipeline = this;

  constructor(deps: PipelineDependencies) {
    this.deps = deps;
    this.repeats = deps.repeats ?? new RepeatLimiter(REPEATED_LOG_INTERVAL_MS);
    this.identityHeaderNames = new Set(Object.values(deps.config.identityHeaders).map(normalizeHeaderName));
    this.trustedProxies = new TrustedProxies(deps.config.server.trustedProxies);
  }

  /**
   * Swaps in a new request policy in one assignment. Each request runs to completion on the pipeline
   * that was current when it arrived, so a reload never changes the rules of a request in flight.
   */
  usePolicy(policy: RequestPolicy): void {
    this.current = new RequestPipeline({ ...this.deps, ...policy, repeats: this.repeats });
  }

  /** Handles one request to completion; never throws. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.current !== this) return this.current.handle(request, response);
    const exchange: Exchange = { request, response, startedAt: performance.now() };
    try {
      this.checkHead(exchange);
      await this.checkCredentials(exchange);
      const status = await this.forward(exchange);
      this.finish(exchange, status, status >= 500 ? 'error' : 'allowed', 'ok');
    } catch (error) {
      const rejection = this.toRejection(error);
      if (rejection instanceof RevokedRejection) exchange.revocation = rejection.entry;
      sendRejection(response, rejection);
      this.finish(exchange, rejection.status, rejection instanceof UpstreamError ? 'error' : 'rejected', rejection.reason);
    }
  }

  /**
   * Checks the request head and matches the route. It runs synchronously in the tick that received
   * the head, so its rejection is written before Node's parser reads (and may fail on) the body.
   */
  private checkHead(exchange: Pick<Exchange, 'request' | 'target' | 'route'>): void {
    const { request } = exchange;
    this.validateHost(request);
    checkTransferCoding(request);
    checkConnectionOptions(request, this.identityHeaderNames);
    exchange.target = this.canonicalizeTarget(request);
    exchange.route = this.matchRoute(exchange.target, request.method ?? '');
  }

  /** Authenticates the request and applies revocation, scope and staleness checks for its route. */
  private async checkCredentials(exchange: Pick<Exchange, 'request' | 'target' | 'route' | 'token'>): Promise<void> {
    const { request } = exchange;
    if (!exchange.route || !exchange.target) throw new TypeError('checkHead must run before checkCredentials');
    exchange.token = await this.authenticate(exchange.route, exchange.target, request);
    if (exchange.token) {
      this.checkRevocation(exchange.token);
      this.checkScopes(exchange.route, exchange.token);
    }
    this.applyStalenessPolicy(exchange.route);
  }

  /**
   * Runs the request checks for an upgrade request (WebSocket) and returns what the relay needs, or
   * throws the Rejection. The access-log line of an admitted upgrade is written here.
   */
  async authorizeUpgrade(request: IncomingMessage): Promise<AuthorizedUpgrade> {
    if (this.current !== this) return this.current.authorizeUpgrade(request);
    const startedAt = performance.now();
    const exchange: Pick<Exchange, 'request' | 'target' | 'route' | 'token'> = { request };
    try {
      this.checkHead(exchange);
      await this.checkCredentials(exchange);
    } catch (error) {
      const rejection = this.toRejection(error);
      const line = { method: request.method, path: exchange.target?.path ?? null, status: rejection.status, route: exchange.route?.name ?? 'unmatched' };
      const revocationId = rejection instanceof RevokedRejection ? rejection.entry.id : undefined;
      this.deps.metrics.recordRequest(line.route, 'rejected', rejection.reason, (performance.now() - startedAt) / 1000);
      this.deps.logger.info({ ...line, decision: 'rejected', reason: rejection.reason, upgrade: true, revocationId }, 'request');
      throw rejection;
    }

    const { target, route, token } = exchange as Required<typeof exchange>;
    const identity = token ? identityHeaders(this.deps.config.identityHeaders, token.claims) : [];
    const headers = buildUpstreamHeaders(request, this.identityHeaderNames, { headers: identity, authorizationVerified: token !== undefined }, this.trustedProxies);
    const issuer = token ? this.deps.config.issuers.find((candidate) => candidate.issuer === token.iss) : undefined;
    this.deps.metrics.recordRequest(route.name, 'allowed', 'ok', (performance.now() - startedAt) / 1000);
    this.deps.logger.info(
      { method: request.method, path: target.path, status: 101, route: route.name, decision: 'allowed', reason: 'ok', upgrade: true, iss: token?.iss, kid: token?.kid, jti: token?.claims.jti },
      'request',
    );
    const staleLimitSeconds = route.onStale === 'reject' ? route.maxStaleness / 1000 : undefined;
    return { path: `${target.path}${target.query}`, headers, token, toleranceSeconds: (issuer?.clockTolerance ?? 0) / 1000, staleLimitSeconds, route: route.name };
  }

  /**
   * Requires exactly one well-formed Host header (RFC 9112 section 3.2), because it is passed on as
   * X-Forwarded-Host and upstreams build links from it. HTTP/1.0 requests may omit it.
   */
  private validateHost(request: IncomingMessage): void {
    const hosts = request.headersDistinct['host'] ?? [];
    if (hosts.length === 0 && request.httpVersion === '1.0') return;
    if (hosts.length !== 1 || !HOST.test(hosts[0] ?? '') || !hasPortInRange(hosts[0] ?? '')) throw new Rejection('invalid_host');
  }

  /**
   * Logs and counts a request that the listener rejected itself, because Node's parser failed on it
   * or it asked for CONNECT or an upgrade, so that it still gets its access-log line and count.
   */
  recordListenerRejection(rejection: Rejection, method: string | undefined): void {
    this.deps.metrics.recordRequest('unmatched', 'rejected', rejection.reason, 0);
    const line = { method, path: null, status: rejection.status, route: 'unmatched', decision: 'rejected', reason: rejection.reason };
    this.deps.logger.info(line, 'request');
  }

  private canonicalizeTarget(request: IncomingMessage): CanonicalTarget {
    const target = canonicalizeTarget(request.url ?? '');
    if (!target) throw new Rejection('invalid_path');
    return target;
  }

  private matchRoute(target: CanonicalTarget, method: string): Route {
    const route = this.deps.routes.match(target.path, method);
    if (!route) throw new Rejection('method_not_allowed');
    return route;
  }

  private async authenticate(route: Route, target: CanonicalTarget, request: IncomingMessage): Promise<VerifiedToken | undefined> {
    if (route.auth === 'none') return undefined;

    const token = extractBearerToken(request, target.query, this.deps.config.server.maxTokenBytes);
    if (token === undefined) {
      if (route.auth === 'required') throw new Rejection('missing_token');
      return undefined;
    }
    return this.verify(token);
  }

  /** Verifies a token and records how long that took, by result. */
  private async verify(token: string): Promise<VerifiedToken> {
    const started = performance.now();
    let result: VerificationResult = 'error';
    try {
      const verified = await this.deps.verifier.verify(token);
      result = 'valid';
      return verified;
    } catch (error) {
      if (error instanceof Rejection) result = 'rejected';
      else if (error instanceof KeysUnavailableError) result = 'keys_unavailable';
      throw error;
    } finally {
      this.deps.metrics.verificationDuration.observe({ result }, (performance.now() - started) / 1000);
    }
  }

  /**
   * Decides what the pipeline would do with this token on this route now, without forwarding:
   * the same stages as a request, from route matching to the staleness policy.
   */
  async explain(token: string, method: string, target: string): Promise<Explanation> {
    if (this.current !== this) return this.current.explain(token, method, target);
    if (this.current !== this) return this.current.explain(token, method, target);
    let route: Route | undefined;
    let verified: VerifiedToken | undefined;
    try {
      const canonical = canonicalizeTarget(target);
      if (!canonical) throw new Rejection('invalid_path');
      route = this.matchRoute(canonical, method);
      if (route.auth !== 'none') {
        verified = await this.deps.verifier.verify(token);
        this.checkRevocation(verified);
        this.checkScopes(route, verified);
      }
      this.applyStalenessPolicy(route);
      return { accepted: true, status: 200, reason: 'ok', route: route.name, token: describeToken(verified) };
    } catch (error) {
      const rejection = error instanceof KeysUnavailableError ? new Rejection('keys_unavailable') : error;
      if (!(rejection instanceof Rejection)) throw error;
      return {
        accepted: false,
        status: rejection.status,
        reason: rejection.reason,
        route: route?.name,
        token: describeToken(verified),
        revocation: rejection instanceof RevokedRejection ? rejection.entry : undefined,
      };
    }
  }

  private checkRevocation(token: VerifiedToken): void {
    const entry = this.deps.denylist.match(token);
    if (entry) throw new RevokedRejection(entry);
  }

  private checkScopes(route: Route, token: VerifiedToken): void {
    if (route.scopes.length === 0) return;
    const granted = new Set(scopesOf(token.claims));
    if (route.scopes.every((scope) => granted.has(scope))) return;
    throw new Rejection('insufficient_scope', {
      'www-authenticate': `Bearer error="insufficient_scope", scope="${route.scopes.join(' ')}"`,
    });
  }

  /**
   * Applies the route's `startup` policy while the replica has no state at all, and its `onStale`
   * policy while staleness exceeds the route's limit. Privileged routes reject in both cases.
   */
  private applyStalenessPolicy(route: Route): void {
    if (route.onStale === 'allow' && route.startup === 'allow') return;
    const staleness = this.deps.freshness.stalenessSeconds();
    const policy = Number.isFinite(staleness) ? route.onStale : route.startup;
    if (policy === 'allow' || staleness <= route.maxStaleness / 1000) return;

    const retryAfter = Math.max(1, Math.ceil(this.deps.config.revocation.probeInterval / 1000));
    throw new Rejection('revocation_state_stale', { 'retry-after': String(retryAfter) });
  }

  private async forward(exchange: Exchange): Promise<number> {
    const { request, response, target, token } = exchange;
    const identity = token ? identityHeaders(this.deps.config.identityHeaders, token.claims) : [];
    const identityOptions = { headers: identity, authorizationVerified: token !== undefined };
    const headers = buildUpstreamHeaders(request, this.identityHeaderNames, identityOptions, this.trustedProxies);
    const outcome = await forwardRequest(this.deps.upstream, request, response, {
      method: request.method ?? 'GET',
      path: `${target?.path ?? '/'}${target?.query ?? ''}`,
      headers,
    });
    exchange.upstreamSeconds = outcome.upstreamSeconds;
    return outcome.status;
  }

  private toRejection(error: unknown): Rejection {
    if (error instanceof UpstreamError) {
      this.deps.metrics.upstreamErrors.inc({ code: error.code });
      return error;
    }
    if (error instanceof Rejection) return error;
    if (error instanceof KeysUnavailableError) {
      // The message names the issuer, so each issuer's outage is reported on its own.
      const suppressed = this.repeats.admit(error.message);
      if (suppressed !== undefined) this.deps.logger.warn({ err: error.message, cause: describeCause(error), suppressed }, 'issuer keys unavailable');
      return new Rejection('keys_unavailable', { 'retry-after': '5' });
    }
    const suppressed = this.repeats.admit(`unexpected ${error instanceof Error ? error.name : typeof error}`);
    if (suppressed !== undefined) {
      this.deps.logger.error({ err: error instanceof Error ? error.stack : String(error), suppressed }, 'unexpected error in request pipeline');
    }
    return new Rejection('upstream_unavailable');
  }

  /** Writes the access-log line and the metrics for a finished request. */
  private finish(exchange: Exchange, status: number, decision: Decision, reason: RejectionReason | 'ok'): void {
    const seconds = (performance.now() - exchange.startedAt) / 1000;
    const route = exchange.route?.name ?? 'unmatched';
    this.deps.metrics.recordRequest(route, decision, reason, seconds);
    if (exchange.upstreamSeconds !== undefined) this.deps.metrics.upstreamDuration.observe({ route }, exchange.upstreamSeconds);
    if (decision === 'allowed' && !sampled(this.deps.config.logging.accessLogSampleRate)) return;

    const { token, revocation } = exchange;
    const line = {
      method: exchange.request.method,
      path: exchange.target?.path ?? null,
      status,
      durationMs: Math.round(seconds * 100_000) / 100,
      route,
      decision,
      reason,
      iss: token?.iss,
      kid: token?.kid,
      jti: typeof token?.claims.jti === 'string' ? token.claims.jti : undefined,
      revocationId: revocation?.id,
    };
    if (status >= 500) this.deps.logger.warn(line, 'request');
    else this.deps.logger.info(line, 'request');
  }
}

/** Decides whether one allowed request is logged, at `rate` between 0 and 1. */
function sampled(rate: number): boolean {
  return rate >= 1 || Math.random() < rate;
}

/** True when a Host value has no port or a port of at most 65535. */
function hasPortInRange(host: string): boolean {
  const port = /:(\d+)$/.exec(host)?.[1];
  return port === undefined || Number(port) <= 65535;
}

function describeCause(error: Error): string | undefined {
  const cause = error.cause;
  if (cause instanceof Error) return (cause as { code?: string }).code ?? cause.message;
  return undefined;
}
