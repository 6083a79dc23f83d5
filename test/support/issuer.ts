/**
 * A test identity provider: real key pairs, a JWKS file the proxy reads, and real signed tokens.
 * Tokens default to a valid shape (iss, aud, sub, jti, iat, exp); tests override any claim or header.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload, type JWTHeaderParameters } from 'jose';

export const ISSUER = 'https://idp.test.revgate';
export const AUDIENCE = 'orders-api';

export interface TokenOptions {
  claims?: JWTPayload;
  /** Claims to delete from the default set, such as `['exp']`. */
  omit?: string[];
  header?: Partial<JWTHeaderParameters>;
  /** Sign with the untrusted key, whose public half is not in the JWKS. */
  untrusted?: boolean;
}

export class TestIssuer {
  readonly jwksFile: string;
  private readonly privateKey: CryptoKey;
  private readonly untrustedKey: CryptoKey;

  private constructor(jwksFile: string, privateKey: CryptoKey, untrustedKey: CryptoKey) {
    this.jwksFile = jwksFile;
    this.privateKey = privateKey;
    this.untrustedKey = untrustedKey;
  }

  static async create(folder: string): Promise<TestIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const untrusted = await generateKeyPair('ES256');
    const jwksFile = path.join(folder, 'issuer.jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'issuer-key-1', alg: 'ES256', use: 'sig' }] }));
    return new TestIssuer(jwksFile, privateKey, untrusted.privateKey);
  }

  /** Signs a token valid for five minutes from `now` (seconds) unless the options change it. */
  async token(options: TokenOptions = {}, now = Math.floor(Date.now() / 1000)): Promise<string> {
    const claims: JWTPayload = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', jti: randomUUID(), iat: now, exp: now + 300, ...options.claims };
    for (const name of options.omit ?? []) delete claims[name];
    const header = { alg: 'ES256', kid: 'issuer-key-1', typ: 'JWT', ...options.header } as JWTHeaderParameters;
    return new SignJWT(claims).setProtectedHeader(header).sign(options.untrusted ? this.untrustedKey : this.privateKey);
  }
}
