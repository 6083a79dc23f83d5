/**
 * A real upstream HTTP server on a free loopback port. It records every request it receives and
 * responds by path:
 * - `/echo-body...`: streams the request body back;
 * - `/redirect...`: 302 to /elsewhere;
 * - `/slow...`: waits 2 s before answering;
 * - `/hop...`: answers with hop-by-hop headers and a `Connection`-listed header;
 * - anything else: JSON with the method, URL and headers it saw.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

export class TestUpstream {
  readonly seen: SeenRequest[] = [];
  private readonly server: http.Server;

  private constructor() {
    this.server = http.createServer((request, response) => this.answer(request, response));
  }

  static async start(): Promise<TestUpstream> {
    const upstream = new TestUpstream();
    await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
    return upstream;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get last(): SeenRequest | undefined {
    return this.seen.at(-1);
  }

  private answer(request: http.IncomingMessage, response: http.ServerResponse): void {
    this.seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, rawHeaders: request.rawHeaders });
    const url = request.url ?? '/';
    if (url.startsWith('/echo-body')) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      request.pipe(response);
      return;
    }
    if (url.startsWith('/redirect')) {
      response.writeHead(302, { location: '/elsewhere' });
      response.end();
      return;
    }
    if (url.startsWith('/slow')) {
      setTimeout(() => response.end('late'), 2000).unref();
      return;
    }
    if (url.startsWith('/hop')) {
      response.writeHead(200, { connection: 'x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=99', 'x-public': 'yes' });
      response.end('hop');
      return;
    }
    request.resume();
    const body = JSON.stringify({ method: request.method, url, headers: request.headers });
    response.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
    response.end(body);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
