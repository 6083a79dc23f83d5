/**
 * HTTP/1.1 over a raw TCP socket, for requests that no HTTP client library would send: conflicting
 * framing headers, obs-fold, absolute-form and `*` targets, bytes outside ASCII. Every wait is
 * bounded by a timeout.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names in lower case; repeated headers are joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/** One client connection that collects everything the server sends. */
export class RawConnection {
  private received = Buffer.alloc(0);
  private closed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  static open(baseUrl: string): Promise<RawConnection> {
    const { hostname, port } = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  /** Writes bytes; a string is sent as latin1, one byte per character. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, () => resolve());
    });
  }

  /** Resolves once the check passes, or rejects after `timeoutMs`. */
  waitFor(check: (connection: RawConnection) => boolean, timeoutMs = 5000): Promise<void> {
    if (check(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!check(this)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`raw connection: condition not met within ${timeoutMs}ms; received ${JSON.stringify(this.text.slice(0, 300))}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Waits for the server to close the connection. */
  waitForClose(timeoutMs = 5000): Promise<void> {
    return this.waitFor((connection) => connection.isClosed, timeoutMs);
  }

  /** Waits for the first complete final (non-1xx) response and returns it; throws if the connection closes first. */
  async response(timeoutMs = 5000): Promise<RawResponse> {
    await this.waitFor((connection) => connection.isClosed || parseFinalResponse(connection.text, false) !== undefined, timeoutMs);
    const response = parseFinalResponse(this.text, this.closed);
    if (!response) throw new Error(`connection closed without a complete response; received ${JSON.stringify(this.text.slice(0, 300))}`);
    return response;
  }

  close(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Sends one request and returns the first final response, closing the connection afterwards. */
export async function rawRequest(baseUrl: string, request: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
  const connection = await RawConnection.open(baseUrl);
  try {
    await connection.write(request);
    return await connection.response(timeoutMs);
  } finally {
    connection.close();
  }
}

/**
 * Parses the first final response in `text`, skipping 1xx responses. Returns undefined while it
 * is incomplete: headers unfinished, or a body shorter than Content-Length or without the last
 * chunk. A body without either ends when the connection closes.
 */
export function parseFinalResponse(text: string, closed: boolean): RawResponse | undefined {
  let rest = text;
  for (let responses = 0; responses < 10; responses++) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    rest = rest.slice(end + 4);
    if (status >= 100 && status < 200) continue;

    const body = completeBody(rest, headers, closed);
    return body === undefined ? undefined : { status, headers, body };
  }
  return undefined;
}

function completeBody(rest: string, headers: Record<string, string>, closed: boolean): string | undefined {
  const length = headers['content-length'];
  if (length !== undefined) return rest.length >= Number(length) ? rest.slice(0, Number(length)) : undefined;
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') return decodeChunked(rest);
  return closed ? rest : undefined;
}

function decodeChunked(rest: string): string | undefined {
  let body = '';
  let offset = 0;
  for (let chunks = 0; chunks < 100_000; chunks++) {
    const lineEnd = rest.indexOf('\r\n', offset);
    if (lineEnd === -1) return undefined;
    const size = Number.parseInt(rest.slice(offset, lineEnd), 16);
    if (size === 0) return rest.indexOf('\r\n', lineEnd + 2) === -1 ? undefined : body;
    if (rest.length < lineEnd + 2 + size + 2) return undefined;
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    offset = lineEnd + 2 + size + 2;
  }
  return undefined;
}
