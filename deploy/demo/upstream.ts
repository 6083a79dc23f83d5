/** The demo upstream: an HTTP server that returns each request's method, path and X-Auth-Subject header as JSON. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoReply {
  method: string;
  path: string;
  /** The X-Auth-Subject header that the proxy added, or null when the request had none. */
  subject: string | null;
}

export interface Upstream {
  url: string;
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const server = http.createServer((request, response) => {
    const subject = request.headers['x-auth-subject'];
    const reply: EchoReply = {
      method: request.method ?? '',
      path: request.url ?? '',
      subject: typeof subject === 'string' ? subject : null,
    };
    const body = JSON.stringify(reply);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/** Closes a listening server and cuts its open connections, so that close() does not wait for idle keep-alive clients. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
