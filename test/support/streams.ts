/** Creating the revocation stream on a test server, as `revgate stream init` does. */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

import { ensureStream } from '../../proxy/revocation/stream.js';

export async function initStream(natsUrl: string, stream = 'REVGATE'): Promise<void> {
  const connection = await connect({ servers: natsUrl });
  try {
    await ensureStream(await jetstreamManager(connection), stream, { maxAge: 2 * 3_600_000, replicas: 1 });
  } finally {
    await connection.close();
  }
}
