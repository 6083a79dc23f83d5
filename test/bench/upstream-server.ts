/**
 * The benchmark upstream: a plain node:http server on a free loopback port that responds to every
 * request with 200 and the same small JSON body. It prints `listening on PORT` once bound and
 * exits on SIGTERM. It runs in its own process, so that it never shares an event loop with the
 * proxy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const BODY = Buffer.from(JSON.stringify({ ok: true, service: 'bench-upstream' }));

const server = http.createServer((request, response) => {
  request.resume();
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
  response.end(BODY);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening on ${port}\n`);
});

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
