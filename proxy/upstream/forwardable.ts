/**
 * Requests that the proxy cannot forward without changing what they mean. The pipeline runs these
 * checks before any other work.
 */
import type { IncomingMessage } from 'node:http';

import { Rejection } from '../errors.js';
import { connectionListed } from './headers.js';

/**
 * Headers that `Connection` may not name. The proxy removes every header that `Connection` names,
 * so naming one of these would drop the credentials, the message framing, or a header that the
 * proxy sets and the upstream trusts. The identity headers of the config are added per proxy.
 */
const PROTECTED_FROM_CONNECTION = new Set(['authorization', 'host', 'content-length', 'transfer-encoding', 'forwarded']);

/**
 * Rejects a `Connection` header that names a protected header, in any letter case and with `_`
 * read as `-`, by throwing Rejection('invalid_connection_header').
 */
export function checkConnectionOptions(request: IncomingMessage, identityHeaderNames: ReadonlySet<string>): void {
  for (const name of connectionListed(request.headersDistinct['connection'])) {
    if (PROTECTED_FROM_CONNECTION.has(name) || identityHeaderNames.has(name) || name.startsWith('x-forwarded-')) {
      throw new Rejection('invalid_connection_header');
    }
  }
}

/**
 * Rejects a transfer coding other than plain `chunked`, such as `gzip, chunked`, by throwing
 * Rejection('unsupported_transfer_coding'). Node's parser removes the chunked framing but not the
 * codings before it, and `Transfer-Encoding` is hop-by-hop, so the upstream would receive
 * compressed bytes with nothing saying that they are compressed. RFC 9112 section 6.1 asks for
 * 501. The connection closes after the response, because the proxy did not read the body and
 * cannot tell where the next request starts.
 */
export function checkTransferCoding(request: IncomingMessage): void {
  const coding = request.headers['transfer-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') {
    throw new Rejection('unsupported_transfer_coding', { connection: 'close' });
  }
}
