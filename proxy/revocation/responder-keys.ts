/**
 * Responder keys: the key pairs incident responders sign revocation events with. Proxies hold
 * only the public halves, as a JWKS file (`revocation.trustedResponders`); the CLI holds a private
 * JWK file per responder. Every key needs a `kid`, because the `kid` names the actor in the audit trail.
 */
import { readFile } from 'node:fs/promises';

import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, type JWK, type JWTVerifyGetKey } from 'jose';

import { readJwksFile } from '../auth/issuers.js';
import { RevgateError } from '../errors.js';
import type { RevocationConfig } from '../config/schema.js';
import { RESPONDER_ALGORITHMS, type ResponderKeys, type SigningKey } from './event.js';

/** Reads the responder key sets that a revocation config names. */
export async function loadResponderKeys(config: Pick<RevocationConfig, 'trustedResponders' | 'liftResponders'>): Promise<ResponderKeys> {
  return {
    revoke: await loadTrustedResponders(config.trustedResponders.file),
    lift: config.liftResponders ? await loadTrustedResponders(config.liftResponders.file) : undefined,
  };
}

/** Reads the trusted responder JWKS and returns a key lookup for event verification. */
export async function loadTrustedResponders(file: string): Promise<JWTVerifyGetKey> {
  const jwks = await readJwksFile(file);
  const missingKid = jwks.keys.findIndex((key) => typeof key.kid !== 'string' || key.kid === '');
  if (missingKid !== -1) {
    throw new RevgateError('ERR_KEY_INVALID', `${file}: keys[${missingKid}] has no "kid"; every responder key needs one to name the actor`);
  }
  return createLocalJWKSet(jwks);
}

/** Reads a responder's private JWK file for signing. */
export async function loadSigningKey(file: string): Promise<SigningKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new RevgateError('ERR_KEY_INVALID', `signing key ${file}: cannot be read (${reason})`, [], { cause: error });
  }
  if (typeof jwk.d !== 'string') throw new RevgateError('ERR_KEY_INVALID', `signing key ${file}: is not a private JWK (no "d" member)`);
  if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new RevgateError('ERR_KEY_INVALID', `signing key ${file}: has no "kid"`);

  const alg = jwk.alg ?? (jwk.kty === 'OKP' ? 'EdDSA' : undefined);
  if (alg === undefined || !RESPONDER_ALGORITHMS.includes(alg)) {
    throw new RevgateError('ERR_KEY_INVALID', `signing key ${file}: "alg" must be one of ${RESPONDER_ALGORITHMS.join(', ')}`);
  }
  try {
    const key = await importJWK(jwk, alg);
    if (key instanceof Uint8Array) throw new TypeError('symmetric keys are not accepted');
    return { key, kid: jwk.kid, alg };
  } catch (error) {
    throw new RevgateError('ERR_KEY_INVALID', `signing key ${file}: invalid JWK (${(error as Error).message})`, [], { cause: error });
  }
}

/** Generates an Ed25519 responder key pair as private and public JWKs sharing one `kid`. */
export async function generateResponderKey(kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const common = { kid, alg: 'EdDSA', use: 'sig' };
  return {
    privateJwk: { ...(await exportJWK(privateKey)), ...common },
    publicJwk: { ...(await exportJWK(publicKey)), ...common },
  };
}
