/** Creating the revocation stream on a test server, as `revgate stream init` does. */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';

import { ensureStreams } from '../../proxy/revocation/stream.js';

export async function initStream(natsUrl: string | string[], stream = 'REVGATE', options: { replicas?: number; connection?: NodeConnectionOptions } = {}): Promise<void> {
  const connection = await connect({ servers: natsUrl, ...options.connection });
  try {
    await ensureStreams(await jetstreamManager(connection), stream, { maxAge: 2 * 3_600_000, replicas: options.replicas ?? 1, maxMessages: 1_000_000 });
  } finally {
    await connection.close();
  }
}
