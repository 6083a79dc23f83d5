/**
 * Upgraded connections (WebSocket and other `Upgrade` protocols). The upgrade request passes the
 * same checks as any request; then the proxy opens a connection to the upstream, sends the request
 * on, and relays bytes both ways.
 *
 * A long-lived connection outlives the check that admitted it, and that is where a stolen token
 * lives longest. So the proxy keeps the verified token of every open connection and checks it again
 * every `RECHECK_INTERVAL_MS`: once the token is revoked by any selector, or has expired, both
 * sides of the connection are closed.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

import type { VerifiedToken } from '../auth/verify.js';
import { Rejection } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Denylist } from '../revocation/denylist.js';

/** How often open connections are checked against the denylist and their tokens' expiry. */
export const RECHECK_INTERVAL_MS = 1000;

/** What the request checks established for an upgrade request that may proceed. */
export interface AuthorizedUpgrade {
  /** Canonical path plus the original query. */
  path: string;
  /** Upstream request headers, hop-by-hop headers already removed. */
  headers: string[];
  token: VerifiedToken | undefined;
  /** The token's issuer clock tolerance in seconds, which the expiry check allows. */
  toleranceSeconds: number;
  route: string;
}

export interface UpgradeDependencies {
  upstreamUrl: string;
  connectTimeout: number;
  denylist: Denylist;
  logger: Logger;
  now?: () => number;
  /** Runs the request checks; throws a Rejection when the upgrade may not proceed. */
  authorize(request: IncomingMessage): Promise<AuthorizedUpgrade>;
  /** Writes a rejection on the raw socket and records it like any rejected request. */
  reject(socket: Duplex, rejection: Rejection, request: IncomingMessage): void;
}

interface OpenConnection {
  client: Duplex;
  upstream: net.Socket;
  token: VerifiedToken;
  toleranceSeconds: number;
  route: string;
}

export class UpgradeRelay {
  private readonly deps: UpgradeDependencies;
  private readonly now: () => number;
  private readonly open = new Set<OpenConnection>();
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: UpgradeDependencies) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.recheck(), RECHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Closes every relayed connection; called at shutdown after the listener stopped accepting. */
  close(): void {
    clearInterval(this.timer);
    for (const connection of this.open) this.terminate(connection);
  }

  get openConnections(): number {
    return this.open.size;
  }

  /** Handles the `upgrade` event of the client listener; never throws. */
  async handle(request: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    let authorized: AuthorizedUpgrade;
    try {
      authorized = await this.deps.authorize(request);
    } catch (error) {
      const rejection = error instanceof Rejection ? error : new Rejection('upstream_unavailable');
      this.deps.reject(client, rejection, request);
      return;
    }

    const upstream = this.connectUpstream();
    upstream.once('timeout', () => upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      this.deps.logger.warn({ code: error.code, route: authorized.route }, 'upgraded connection to the upstream failed');
      if (!client.destroyed) this.deps.reject(client, new Rejection('upstream_unavailable'), request);
    });
    upstream.once('connect', () => this.relay(request, client, head, upstream, authorized));
  }

  /** Closes connections whose token was revoked or has expired since they were opened. */
  recheck(): void {
    const nowSeconds = this.now() / 1000;
    for (const connection of this.open) {
      const revocation = this.deps.denylist.match(connection.token);
      const exp = connection.token.claims.exp ?? 0;
      const reason = revocation ? 'token_revoked' : exp + connection.toleranceSeconds <= nowSeconds ? 'token_expired' : undefined;
      if (reason === undefined) continue;
      const { token } = connection;
      this.deps.logger.info(
        { route: connection.route, reason, iss: token.iss, kid: token.kid, jti: token.claims.jti, revocationId: revocation?.id },
        'closed upgraded connection',
      );
      this.terminate(connection);
    }
  }

  private connectUpstream(): net.Socket {
    const url = new URL(this.deps.upstreamUrl);
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    const options = { host: url.hostname, port, timeout: this.deps.connectTimeout };
    return secure ? tls.connect({ ...options, servername: url.hostname }) : net.connect(options);
  }

  private relay(request: IncomingMessage, client: Duplex, head: Buffer, upstream: net.Socket, authorized: AuthorizedUpgrade): void {
    upstream.setTimeout(0);
    const upgrade = request.headers.upgrade ?? '';
    const lines = [`${request.method ?? 'GET'} ${authorized.path} HTTP/1.1`, `host: ${new URL(this.deps.upstreamUrl).host}`];
    for (let index = 0; index < authorized.headers.length; index += 2) lines.push(`${authorized.headers[index]}: ${authorized.headers[index + 1]}`);
    lines.push('connection: upgrade', `upgrade: ${upgrade}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);

    upstream.pipe(client);
    client.pipe(upstream);
    const connection = authorized.token
      ? { client, upstream, token: authorized.token, toleranceSeconds: authorized.toleranceSeconds, route: authorized.route }
      : undefined;
    if (connection) this.open.add(connection);
    const cleanUp = () => {
      if (connection) this.open.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', cleanUp);
    upstream.once('close', cleanUp);
    client.on('error', cleanUp);
    upstream.on('error', cleanUp);
  }

  private terminate(connection: OpenConnection): void {
    this.open.delete(connection);
    connection.client.destroy();
    connection.upstream.destroy();
  }
}
