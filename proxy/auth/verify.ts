/**
 * Token verification: pick the issuer by the token's unverified `iss`, verify the signature and
 * standard claims with jose while pinning that issuer, then apply the proxy's own claim rules.
 *
 * Successful results are cached by the token string for a short time, so that a client sending
 * the same token repeatedly costs one signature check. The cache never decides revocation: the
 * pipeline checks the replica on every request, and the cache re-checks `exp` on every hit.
 */
import { createHash } from 'node:crypto';

import { jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';

import { Rejection, type RejectionReason } from '../errors.js';
import { checkClaims } from './claims.js';
import { decodeCompactJws } from './compact-jws.js';
import { KeysUnavailableError, type IssuerRegistry } from './issuers.js';

export interface VerifiedToken {
  readonly iss: string;
  readonly kid: string | undefined;
  readonly claims: JWTPayload;
  /** base64url SHA-256 of `header.payload`, which identifies a token that has no `jti`. */
  readonly signingInputHash: string;
}

export interface VerifierOptions {
  /** Current time in milliseconds; tests pass a controllable clock. */
  now?: () => number;
  /** Verified tokens kept in the cache; 0 disables it. */
  cacheEntries?: number;
  /** How long a cached result may be reused, in milliseconds. */
  cacheTtl?: number;
}

/** Maps jose error codes to rejection reasons. */
const JOSE_REASONS: Record<string, RejectionReason> = {
  ERR_JWT_EXPIRED: 'token_expired',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm_not_allowed',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'invalid_signature',
  ERR_JWKS_NO_MATCHING_KEY: 'unknown_key',
  ERR_JWS_INVALID: 'malformed_token',
  ERR_JWT_INVALID: 'malformed_token',
  ERR_JOSE_NOT_SUPPORTED: 'malformed_token',
  ERR_JWK_INVALID: 'unknown_key',
  // jose 6 does not try each key when a token without `kid` matches several keys of the set.
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'unknown_key',
};

export class TokenVerifier {
  private readonly registry: IssuerRegistry;
  private readonly now: () => number;
  private readonly cache: LRUCache<string, VerifiedToken> | undefined;
  cacheHits = 0;
  cacheMisses = 0;

  constructor(registry: IssuerRegistry, options: VerifierOptions = {}) {
    this.registry = registry;
    this.now = options.now ?? Date.now;
    const entries = options.cacheEntries ?? 10_000;
    this.cache = entries > 0 ? new LRUCache({ max: entries, ttl: options.cacheTtl ?? 60_000, ttlAutopurge: false }) : undefined;
  }

  /** Verifies a compact JWS and returns its identity, or throws a Rejection or KeysUnavailableError. */
  async verify(token: string): Promise<VerifiedToken> {
    const cached = this.cache?.get(token);
    if (cached) {
      this.cacheHits++;
      this.recheckCached(cached);
      return cached;
    }
    this.cacheMisses++;

    const verified = await this.verifyUncached(token);
    this.cache?.set(token, verified);
    return verified;
  }

  private async verifyUncached(token: string): Promise<VerifiedToken> {
    const issuer = this.registry.find(readUnverifiedIssuer(token));
    if (!issuer) throw new Rejection('unknown_issuer');

    const { config } = issuer;
    const nowMs = this.now();
    let result;
    try {
      result = await jwtVerify(token, issuer.getKey, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: [...config.algorithms],
        clockTolerance: config.clockTolerance / 1000,
        requiredClaims: ['exp', 'iat'],
        currentDate: new Date(nowMs),
        ...(config.typ === undefined ? {} : { typ: config.typ }),
      });
    } catch (error) {
      throw translateVerificationError(error);
    }

    checkClaims(result.payload, config, Math.floor(nowMs / 1000));
    const signingInput = token.slice(0, token.lastIndexOf('.'));
    return {
      iss: config.issuer,
      kid: result.protectedHeader.kid,
      claims: result.payload,
      signingInputHash: createHash('sha256').update(signingInput).digest('base64url'),
    };
  }

  private recheckCached(token: VerifiedToken): void {
    const issuer = this.registry.find(token.iss);
    if (!issuer) throw new Rejection('unknown_issuer');
    const exp = token.claims.exp ?? 0;
    if (exp + issuer.config.clockTolerance / 1000 <= this.now() / 1000) throw new Rejection('token_expired');
  }
}

/**
 * Reads `iss` without trusting it, only to choose which issuer's rules and keys verify the token.
 * The strict syntax check runs here, first, so that jose only receives canonical tokens.
 */
function readUnverifiedIssuer(token: string): string {
  const { iss } = decodeCompactJws(token).payload;
  if (typeof iss !== 'string') throw new Rejection(iss === undefined ? 'unknown_issuer' : 'invalid_claims');
  return iss;
}

function translateVerificationError(error: unknown): Error {
  if (error instanceof KeysUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    // jose sets `reason` to "check_failed" for an nbf in the future, and to "invalid" for one that is not a number.
    const { claim, reason } = error as { claim?: unknown; reason?: unknown };
    return new Rejection(claim === 'nbf' && reason === 'check_failed' ? 'token_not_yet_valid' : 'invalid_claims');
  }
  if (typeof code === 'string' && JOSE_REASONS[code]) return new Rejection(JOSE_REASONS[code]);
  return new Rejection('malformed_token');
}
