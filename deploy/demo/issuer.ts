/**
 * The demo token issuer: an ES256 key pair generated at start, its public JWKS served over loopback
 * http at /jwks.json, and a function that mints access tokens for a subject.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';

import { closeServer } from './upstream.js';

export const ISSUER_ALGORITHM = 'ES256';
export const ISSUER_KEY_ID = 'demo-issuer-1';

export interface MintedToken {
  compact: string;
  sub: string;
  jti: string;
  /** Expiry time in Unix seconds. */
  exp: number;
}

export interface Issuer {
  /** The `iss` claim of every token, also the base URL of the JWKS server. */
  issuer: string;
  jwksUrl: string;
  /** Mints a token for `sub`, valid for `lifetimeSeconds` from now. */
  mint(sub: string, lifetimeSeconds: number): Promise<MintedToken>;
  close(): Promise<void>;
}

export async function startIssuer(audience: string): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair(ISSUER_ALGORITHM);
  const publicJwk = { ...(await exportJWK(publicKey)), kid: ISSUER_KEY_ID, alg: ISSUER_ALGORITHM, use: 'sig' };
  const jwksBody = JSON.stringify({ keys: [publicJwk] });

  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/jwks.json') {
      response.writeHead(200, { 'content-type': 'application/jwk-set+json', 'content-length': Buffer.byteLength(jwksBody) });
      response.end(jwksBody);
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  return {
    issuer,
    jwksUrl: `${issuer}/jwks.json`,
    mint: (sub, lifetimeSeconds) => mintToken(privateKey, { issuer, audience, sub, lifetimeSeconds }),
    close: () => closeServer(server),
  };
}

async function mintToken(
  privateKey: CryptoKey,
  claims: { issuer: string; audience: string; sub: string; lifetimeSeconds: number },
): Promise<MintedToken> {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + claims.lifetimeSeconds;
  const jti = randomUUID();
  const compact = await new SignJWT({})
    .setProtectedHeader({ alg: ISSUER_ALGORITHM, kid: ISSUER_KEY_ID, typ: 'JWT' })
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setSubject(claims.sub)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(privateKey);
  return { compact, sub: claims.sub, jti, exp };
}
