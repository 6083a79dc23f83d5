/**
 * The request policy: the parts of a config that decide how a request is handled and that a reload
 * replaces as one unit. Everything here is built before anything is swapped, so that a config whose
 * keys cannot be read never replaces a working one.
 */
import { IssuerRegistry, type JwksFetchObserver } from '../auth/issuers.js';
import { TokenVerifier } from '../auth/verify.js';
import type { Config } from '../config/schema.js';
import type { ResponderKeys } from '../revocation/event.js';
import { loadResponderKeys } from '../revocation/responder-keys.js';
import { RouteTable } from '../routes/route-table.js';

export interface RequestPolicy {
  readonly config: Config;
  readonly routes: RouteTable;
  readonly verifier: TokenVerifier;
}

/** A request policy plus the responder keys that the replica verifies revocation events with. */
export interface PolicyBundle {
  readonly policy: RequestPolicy;
  readonly responderKeys: ResponderKeys;
}

/**
 * Builds every part of a policy from a validated config: reads the issuer JWKS files and the
 * responder key files. Throws the first error met, which lists every unreadable issuer key file.
 */
export async function buildPolicyBundle(config: Config, now: () => number, observeFetch?: JwksFetchObserver): Promise<PolicyBundle> {
  const issuers = await IssuerRegistry.load(config.issuers, observeFetch);
  const responderKeys = await loadResponderKeys(config.revocation);
  return {
    policy: {
      config,
      routes: new RouteTable(config.routes, config.revocation.maxStaleness),
      // A new verifier starts with an empty cache, so no result verified under the old issuers survives.
      verifier: new TokenVerifier(issuers, { now }),
    },
    responderKeys,
  };
}
