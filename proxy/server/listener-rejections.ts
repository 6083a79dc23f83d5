/**
 * Rejections that the listener sent for a request whose head the pipeline had already accepted,
 * because Node's parser then failed on its body or the body was too slow. The pipeline still
 * finishes such a request, and it logs and counts the rejection recorded here, which is what the
 * client received, instead of the upstream failure that the interrupted body causes.
 */
import type { IncomingMessage } from 'node:http';

import type { Rejection } from '../errors.js';

const sent = new WeakMap<IncomingMessage, Rejection>();

export function recordListenerRejection(request: IncomingMessage, rejection: Rejection): void {
  sent.set(request, rejection);
}

export function listenerRejectionOf(request: IncomingMessage): Rejection | undefined {
  return sent.get(request);
}
