/**
 * The request pipeline: one small stage per decision, run in this order.
 *
 *   canonicalize the target -> match the route -> authenticate (extract and verify the bearer token)
 *   -> check revocation -> check scopes -> apply the staleness policy -> forward upstream
 *
 * A stage either records what it learned on the exchange or throws a Rejection. Every request ends
 * with exactly one access-log line and one count in the requests metric, with the same reason the
 * client saw.
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
import type { Decision, Metrics } from '../observability/metrics.js';
import type { DenylistEntry, Denylist } from '../revocation/denylist.js';
import { canonicalizeTarget, type CanonicalTarget } from '../routes/canonical-path.js';
import type { Route, RouteTable } from '../routes/route-table.js';
import { UpstreamError, forwardRequest } from '../upstream/forward.js';
import { buildUpstreamHeaders, normalizeHeaderName } from '../upstream/headers.js';
import { sendRejection } from './responses.js';

/** A Host value: a registered name, an IPv4 address or a bracketed IPv6 address, with an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** Freshness of the revocation replica, as the staleness policy reads it. */
export interface FreshnessSource {
  /** Seconds since the replica was last confirmed current; Infinity while it holds no state. */
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

  constructor(deps: PipelineDependencies) {
    this.deps = deps;
    this.identityHeaderNames = new Set(Object.values(deps.config.identityHeaders).map(normalizeHeaderName));
  }

  /** Handles one request to completion; never throws. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const exchange: Exchange = { request, response, startedAt: performance.now() };
    try {
      this.validateHost(request);
      exchange.target = this.canonicalizeTarget(request);
      exchange.route = this.matchRoute(exchange.target, request.method ?? '');
      exchange.token = await this.authenticate(exchange.route, exchange.target, request);
      if (exchange.token) {
        this.checkRevocation(exchange, exchange.token);
        this.checkScopes(exchange.route, exchange.token);
      }
      this.applyStalenessPolicy(exchange.route);
      const status = await this.forward(exchange);
      this.finish(exchange, status, status >= 500 ? 'error' : 'allowed', 'ok');
    } catch (error) {
      const rejection = this.toRejection(error);
      sendRejection(response, rejection);
      this.finish(exchange, rejection.status, rejection instanceof UpstreamError ? 'error' : 'rejected', rejection.reason);
    }
  }

  /**
   * Requires exactly one well-formed Host header (RFC 9112 section 3.2), because it is passed on as
   * X-Forwarded-Host and upstreams build links from it. HTTP/1.0 requests may omit it.
   */
  private validateHost(request: IncomingMessage): void {
    const hosts = request.headersDistinct['host'] ?? [];
    if (hosts.length === 0 && request.httpVersion === '1.0') return;
    if (hosts.length !== 1 || !HOST.test(hosts[0] ?? '')) throw new Rejection('invalid_host');
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
    return this.deps.verifier.verify(token);
  }

  private checkRevocation(exchange: Exchange, token: VerifiedToken): void {
    exchange.revocation = this.deps.denylist.match(token);
    if (exchange.revocation) throw new Rejection('token_revoked');
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
   * Applies the route's `startup` policy while the replica holds no state at all, and its `onStale`
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
    const headers = buildUpstreamHeaders(request, this.identityHeaderNames, { headers: identity, authorizationVerified: token !== undefined });
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
      this.deps.logger.warn({ err: error.message, cause: describeCause(error) }, 'issuer keys unavailable');
      return new Rejection('keys_unavailable', { 'retry-after': '5' });
    }
    this.deps.logger.error({ err: error instanceof Error ? error.stack : String(error) }, 'unexpected error in request pipeline');
    return new Rejection('upstream_unavailable');
  }

  /** Writes the access-log line and the metrics for a finished request. */
  private finish(exchange: Exchange, status: number, decision: Decision, reason: RejectionReason | 'ok'): void {
    const seconds = (performance.now() - exchange.startedAt) / 1000;
    const route = exchange.route?.name ?? 'unmatched';
    this.deps.metrics.recordRequest(route, decision, reason, seconds);

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

function describeCause(error: Error): string | undefined {
  const cause = error.cause;
  if (cause instanceof Error) return (cause as { code?: string }).code ?? cause.message;
  return undefined;
}
