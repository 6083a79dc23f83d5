/**
 * An upstream that misbehaves on purpose, written on raw TCP so that it can send what no HTTP
 * server library would. It reads one request head per connection and acts by path:
 *
 * - `/ok`: a valid 200 response;
 * - `/reset-before-headers`, `/close-before-headers`: resets or closes without a response;
 * - `/reset-mid-body`, `/short-body-close`, `/chunked-cut`: starts a 200, then resets or closes early;
 * - `/slow-headers`: never answers; `/slow-body`: sends the head and part of the body, then stalls;
 * - `/garbage`, `/bad-status`, `/status-099`, `/status-1000`, `/bad-header-char`, `/obs-fold`,
 *   `/huge-headers`, `/informational-only`, `/switching-protocols`: invalid responses;
 * - `/cl-and-te`, `/two-content-lengths`: responses with conflicting framing;
 * - `/http10-until-close`: an HTTP/1.0 response whose body ends when the connection closes.
 */
import net, { type AddressInfo, type Socket } from 'node:net';

const BEHAVIOURS: Record<string, (socket: Socket) => void> = {
  '/ok': (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
  '/reset-before-headers': (socket) => socket.resetAndDestroy(),
  '/close-before-headers': (socket) => socket.end(),
  '/reset-mid-body': (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial', () => socket.resetAndDestroy());
  },
  '/short-body-close': (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes!'),
  '/chunked-cut': (socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'),
  '/slow-headers': () => undefined,
  '/slow-body': (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial'),
  '/garbage': (socket) => socket.end('hello world\r\n\r\n'),
  '/bad-status': (socket) => socket.end('HTTP/1.1 abc Weird\r\nContent-Length: 0\r\n\r\n'),
  '/status-099': (socket) => socket.end('HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n'),
  '/status-1000': (socket) => socket.end('HTTP/1.1 1000 High\r\nContent-Length: 0\r\n\r\n'),
  '/bad-header-char': (socket) => socket.end('HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\nContent-Length: 0\r\n\r\n'),
  '/obs-fold': (socket) => socket.end('HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n'),
  '/huge-headers': (socket) => socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(100_000)}\r\nContent-Length: 0\r\n\r\n`),
  '/informational-only': (socket) => socket.end('HTTP/1.1 100 Continue\r\n\r\n'),
  '/switching-protocols': (socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n'),
  '/cl-and-te': (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'),
  '/two-content-lengths': (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!'),
  '/http10-until-close': (socket) => socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close'),
};

export class HostileUpstream {
  /** Request heads received, one per connection, as `METHOD PATH`. */
  readonly seen: string[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<Socket>();

  private constructor() {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  static async start(): Promise<HostileUpstream> {
    const upstream = new HostileUpstream();
    await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
    return upstream;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Connections currently open, including stalled ones. */
  get openConnections(): number {
    return this.sockets.size;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume();
      const [method = '', path = ''] = head.split(' ');
      this.seen.push(`${method} ${path}`);
      const behaviour = BEHAVIOURS[path.split('?')[0] ?? ''] ?? BEHAVIOURS['/ok']!;
      behaviour(socket);
    };
    socket.on('data', onData);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
