/**
 * Hand-made tokens for hostile-input tests. Unlike jose's SignJWT, the forge signs any header and
 * payload text byte for byte (repeated members, strings where numbers belong, `1e400`), and can
 * produce signatures in the wrong encoding. Keys are real: node:crypto key pairs whose public
 * halves go into a JWKS file that the proxy reads.
 */
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

export type ForgeAlgorithm = 'ES256' | 'RS256';

/** Order of the P-256 group, for turning an ECDSA signature (r, s) into (r, n - s). */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export class SigningKey {
  private constructor(
    readonly kid: string,
    readonly alg: ForgeAlgorithm,
    readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
  ) {}

  static generate(alg: ForgeAlgorithm, kid: string): SigningKey {
    const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    return new SigningKey(kid, alg, pair.privateKey, pair.publicKey);
  }

  /** The public key as a JWK with `kid`, `alg` and `use`, as an issuer publishes it. */
  get publicJwk(): Record<string, unknown> {
    return { ...this.publicKey.export({ format: 'jwk' }), kid: this.kid, alg: this.alg, use: 'sig' };
  }

  /** Signs `header.payload`; `der` gives an ECDSA signature in ASN.1 DER instead of JOSE's r||s. */
  sign(signingInput: string, options: { der?: boolean } = {}): Buffer {
    if (this.alg === 'RS256') return sign('sha256', Buffer.from(signingInput), this.privateKey);
    return sign('sha256', Buffer.from(signingInput), { key: this.privateKey, dsaEncoding: options.der ? 'der' : 'ieee-p1363' });
  }
}

/**
 * Encodes a header or payload: a Buffer as its bytes, a string as the exact JSON text in UTF-8,
 * anything else through JSON.stringify.
 */
export function encodeSegment(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('base64url');
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** Builds a compact JWS signed by `key` over the exact header and payload text. */
export function forgeToken(key: SigningKey, header: unknown, payload: unknown, options: { der?: boolean } = {}): string {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  return `${signingInput}.${key.sign(signingInput, options).toString('base64url')}`;
}

/** Builds an HS256 token whose HMAC key is `secret`, such as an issuer's public key. */
export function forgeHmacToken(secret: string | Buffer, header: unknown, payload: unknown): string {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** Returns the same ES256 token with its signature (r, s) replaced by the equally valid (r, n - s). */
export function malleateEs256(token: string): string {
  const [header, payload, signature = ''] = token.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const flipped = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return `${header}.${payload}.${Buffer.concat([bytes.subarray(0, 32), flipped]).toString('base64url')}`;
}

/** Replaces one segment of a token (0 header, 1 payload, 2 signature) by a function of it. */
export function editSegment(token: string, index: 0 | 1 | 2, edit: (segment: string) => string): string {
  const segments = token.split('.');
  segments[index] = edit(segments[index] ?? '');
  return segments.join('.');
}

/**
 * Returns the segment with its last character changed so that it decodes to the same bytes but
 * sets unused low bits, the non-canonical spelling RFC 4648 section 3.5 warns about.
 */
export function setUnusedBits(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  if (segment.length % 4 !== 2 && segment.length % 4 !== 3) throw new Error(`segment of length ${segment.length} has no unused bits`);
  const last = alphabet.indexOf(segment.at(-1) ?? '');
  return `${segment.slice(0, -1)}${alphabet[last | 1]}`;
}

export async function writeJwks(file: string, keys: readonly SigningKey[]): Promise<void> {
  await writeFile(file, JSON.stringify({ keys: keys.map((key) => key.publicJwk) }));
}
