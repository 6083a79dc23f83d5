/** Readiness: whether a load balancer should send this proxy traffic, as `/readyz` and `revgate_ready` report it. */
import type { RevocationConfig } from '../config/schema.js';

export interface ReadinessInputs {
  shuttingDown: boolean;
  synced: boolean;
  stalenessSeconds: number;
  revocation: Pick<RevocationConfig, 'maxStaleness' | 'readiness'>;
}

/** Returns why the proxy is not ready, or undefined when it is. */
export function notReadyReason(inputs: ReadinessInputs): string | undefined {
  if (inputs.shuttingDown) return 'shutting_down';
  if (!inputs.synced) return 'replica_not_synced';
  const { revocation } = inputs;
  if (revocation.readiness.failWhenStale && inputs.stalenessSeconds > revocation.maxStaleness / 1000) return 'replica_stale';
  return undefined;
}
