/**
 * Upgraded connections (WebSocket and other `Upgrade` protocols). The upgrade request passes the
 * same checks as any request. Then the proxy opens a connection to the upstream, sends the request
 * on, and relays bytes both ways.
 *
 * A long-lived connection outlives the check that admitted it, and that is where a stolen token
 * lives longest. So the proxy keeps the verified token of every open connection and checks it again
 * every `RECHECK_INTERVAL_MS`: once the token is revoked by any selector, or has expired, or the
 * route would reject because the replica is stale, both sides of the connection are closed.
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

/** The result of the request checks for an upgrade request that may proceed. */
export interface AuthorizedUpgrade {
  /** Canonical path plus the original query. */
  path: string;
  /** Upstream request headers, hop-by-hop headers already removed. */
  headers: string[];
  token: VerifiedToken | undefined;
  /** The token's issuer clock tolerance in seconds, which the expiry check allows. */
  toleranceSeconds: number;
  /** Staleness (seconds) above which the route rejects; undefined when the route allows stale state. */
  staleLimitSeconds: number | undefined;
  route: string;
}

export interface UpgradeDependencies {
  upstreamUrl: string;
  connectTimeout: number;
  denylist: Denylist;
  freshness: { stalenessSeconds(): number };
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
  token: VerifiedToken | undefined;
  toleranceSeconds: number;
  /** Staleness (seconds) above which the route rejects, so the connection is closed; undefined when it allows. */
  staleLimitSeconds: number | undefined;
  route: string;
}

/** Largest upstream response head to an upgrade request, and most client bytes buffered until the upstream switches. */
const MAX_HEAD_BYTES = 16_384;
const MAX_BUFFERED_BYTES = 65_536;

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

    let upgraded = false;
    const upstream = this.connectUpstream();
    upstream.once('timeout', () => upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      this.deps.logger.warn({ code: error.code, route: authorized.route }, 'upgraded connection to the upstream failed');
      if (!client.destroyed && !upgraded) this.deps.reject(client, new Rejection('upstream_unavailable'), request);
    });
    upstream.once('connect', () => {
      this.relay(request, client, head, upstream, authorized, () => (upgraded = true));
    });
  }

  /** Closes connections whose token was revoked or expired, or whose route now rejects as stale. */
  recheck(): void {
    const nowSeconds = this.now() / 1000;
    const staleness = this.deps.freshness.stalenessSeconds();
    for (const connection of this.open) {
      const { token } = connection;
      const revocation = token ? this.deps.denylist.match(token) : undefined;
      const expired = token !== undefined && (token.claims.exp ?? 0) + connection.toleranceSeconds <= nowSeconds;
      const stale = connection.staleLimitSeconds !== undefined && staleness > connection.staleLimitSeconds;
      if (!revocation && !expired && !stale) continue;

      let reason = 'revocation_state_stale';
      if (expired) reason = 'token_expired';
      if (revocation) reason = 'token_revoked';
      this.deps.logger.info(
        { route: connection.route, reason, iss: token?.iss, kid: token?.kid, jti: token?.claims.jti, revocationId: revocation?.id },
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

  /**
   * Sends the upgrade request upstream and relays bytes only once the upstream responded 101. Until
   * then, bytes from the client are buffered, because relaying them earlier would let a client smuggle
   * unchecked requests to an upstream that declines the upgrade and keeps reading HTTP.
   */
  private relay(request: IncomingMessage, client: Duplex, head: Buffer, upstream: net.Socket, authorized: AuthorizedUpgrade, onUpgraded: () => void): void {
    upstream.setTimeout(0);
    const connection: OpenConnection = {
      client,
      upstream,
      token: authorized.token,
      toleranceSeconds: authorized.toleranceSeconds,
      staleLimitSeconds: authorized.staleLimitSeconds,
      route: authorized.route,
    };
    this.open.add(connection);
    const cleanUp = () => this.terminate(connection);
    // Until the upstream responds, a client that leaves ends both sides; after 101, either side does.
    client.once('close', cleanUp);
    client.on('error', cleanUp);
    upstream.on('error', cleanUp);

    const buffered: Buffer[] = head.length > 0 ? [head] : [];
    let bufferedBytes = head.length;
    const bufferClientData = (chunk: Buffer) => {
      bufferedBytes += chunk.length;
      if (bufferedBytes > MAX_BUFFERED_BYTES) cleanUp();
      else buffered.push(chunk);
    };
    client.on('data', bufferClientData);

    readResponseHead(upstream, (status, bytes) => {
      if (status === undefined) {
        this.deps.reject(client, new Rejection('upstream_unavailable'), request);
        cleanUp();
        return;
      }
      if (status !== 101) {
        // The upstream declined the upgrade: its response goes back, and nothing the client sent after
        // the upgrade request reaches the upstream.
        this.open.delete(connection);
        client.off('close', cleanUp);
        client.end(bytes, () => upstream.destroy());
        return;
      }
      onUpgraded();
      for (const socket of [client, upstream]) {
        socket.once('close', cleanUp);
        socket.once('end', cleanUp);
      }
      client.off('data', bufferClientData);
      client.write(bytes);
      for (const chunk of buffered) upstream.write(chunk);
      upstream.pipe(client);
      client.pipe(upstream);
    });

    const upgrade = request.headersDistinct['upgrade']?.[0] ?? '';
    const lines = [`${request.method ?? 'GET'} ${authorized.path} HTTP/1.1`, `host: ${new URL(this.deps.upstreamUrl).host}`];
    for (let index = 0; index < authorized.headers.length; index += 2) lines.push(`${authorized.headers[index]}: ${authorized.headers[index + 1]}`);
    lines.push('connection: upgrade', `upgrade: ${upgrade}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  private terminate(connection: OpenConnection): void {
    this.open.delete(connection);
    connection.client.destroy();
    connection.upstream.destroy();
  }
}

/**
 * Reads the upstream's response head and calls back with its status and every byte read so far, or
 * with an undefined status when the head is malformed, larger than MAX_HEAD_BYTES, or never comes.
 */
function readResponseHead(upstream: net.Socket, done: (status: number | undefined, bytes: Buffer) => void): void {
  let buffer = Buffer.alloc(0);
  const finish = (status: number | undefined) => {
    upstream.off('data', onData);
    upstream.off('end', onEnd);
    done(status, buffer);
  };
  const onData = (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    const end = buffer.indexOf('\r\n\r\n');
    if (end === -1) {
      if (buffer.length > MAX_HEAD_BYTES) finish(undefined);
      return;
    }
    const statusLine = /^HTTP\/1\.[01] (\d{3}) /.exec(buffer.subarray(0, Math.min(end, 64)).toString('latin1'));
    finish(statusLine ? Number(statusLine[1]) : undefined);
  };
  const onEnd = () => finish(undefined);
  upstream.on('data', onData);
  upstream.once('end', onEnd);
}
