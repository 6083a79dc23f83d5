/**
 * Claim rules that jose does not apply by itself. jose 6 requires `exp` only when told, checks
 * `iat` against the clock only with `maxTokenAge`, and accepts an `exp` that parses to Infinity
 * (such as `1e400`). The proxy needs finite `exp` and `iat` on every token, because the maximum
 * token lifetime is what bounds how long a revocation entry must be kept.
 */
import type { JWTPayload } from 'jose';

import type { IssuerConfig } from '../config/schema.js';
import { Rejection } from '../errors.js';

/** Claims that, when present, must be strings because revocations and identity headers match them. */
const STRING_CLAIMS = ['sub', 'jti', 'sid', 'client_id', 'azp', 'scope'] as const;

/** Checks lifetime and claim types of a token whose signature jose has verified. */
export function checkClaims(claims: JWTPayload, issuer: IssuerConfig, nowSeconds: number): void {
  const { exp, iat } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new Rejection('invalid_claims');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new Rejection('invalid_claims');

  const toleranceSeconds = issuer.clockTolerance / 1000;
  const maxLifetimeSeconds = issuer.maxTokenLifetime / 1000;
  if (iat > nowSeconds + toleranceSeconds) throw new Rejection('token_not_yet_valid');
  if (exp - iat > maxLifetimeSeconds) throw new Rejection('lifetime_exceeded');
  // The tolerance lets a token minted by an issuer whose clock runs slightly ahead pass this check.
  if (exp - nowSeconds > maxLifetimeSeconds + toleranceSeconds) throw new Rejection('lifetime_exceeded');

  for (const name of STRING_CLAIMS) {
    if (claims[name] !== undefined && typeof claims[name] !== 'string') throw new Rejection('invalid_claims');
  }
  const scp = claims['scp'];
  if (scp !== undefined && !(Array.isArray(scp) && scp.every((scope) => typeof scope === 'string'))) {
    throw new Rejection('invalid_claims');
  }
}

/**
 * Returns the token's scopes: the space-separated `scope` claim (RFC 8693, RFC 9068) or, failing
 * that, the `scp` array that some identity providers send instead.
 */
export function scopesOf(claims: JWTPayload): string[] {
  if (typeof claims['scope'] === 'string') return claims['scope'].split(' ').filter((scope) => scope !== '');
  if (Array.isArray(claims['scp'])) return claims['scp'] as string[];
  return [];
}
