/**
 * A corpus of hostile and malformed bearer tokens sent through a running proxy (real nats-server,
 * real upstream, tokens signed with real keys). Each case names the status and the reason the
 * client must get; the same reason must appear in the access-log line and in
 * revgate_requests_total, and the upstream must never see a rejected request.
 *
 * Three issuers are configured: the workspace's ES256 issuer, an RS256 issuer with two keys (for
 * HMAC-with-the-public-key and key-selection cases), and an ES256 issuer that requires
 * `typ: at+jwt` (RFC 9068).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { AUDIENCE, ISSUER } from '../support/issuer.js';
import { NatsServer } from '../support/nats.js';
import { accessLines, lastAccessLine, requestCount } from '../support/observe.js';
import { createWorkspace, eventually, send, startProxy, type RunningProxy, type Workspace } from '../support/proxy.js';
import { RawConnection } from '../support/raw-http.js';
import { initStream } from '../support/streams.js';
import {
  SigningKey,
  editSegment,
  encodeSegment,
  forgeHmacToken,
  forgeToken,
  malleateEs256,
  setUnusedBits,
  writeJwks,
} from '../support/token-forge.js';
import { TestUpstream } from '../support/upstream.js';

const RS_ISSUER = 'https://rs.test.revgate';
const AT_ISSUER = 'https://at.test.revgate';
/** A subject that no log line may contain. */
const SECRET_SUBJECT = 'subject-that-must-not-be-logged';

let nats: NatsServer;
let upstream: TestUpstream;
let workspace: Workspace;
let proxy: RunningProxy;
let keyServer: http.Server;
let keyServerRequests = 0;

const rsKey = SigningKey.generate('RS256', 'rs-1');
const rsSecondKey = SigningKey.generate('RS256', 'rs-2');
const atKey = SigningKey.generate('ES256', 'at-1');
const attackerRsKey = SigningKey.generate('RS256', 'rs-1');
const attackerEsKey = SigningKey.generate('ES256', 'at-1');

before(async () => {
  nats = await NatsServer.start();
  await initStream(nats.url);
  upstream = await TestUpstream.start();
  workspace = await createWorkspace();
  keyServer = await startKeyServer();

  const rsJwks = path.join(workspace.folder, 'rs.jwks.json');
  const atJwks = path.join(workspace.folder, 'at.jwks.json');
  await writeJwks(rsJwks, [rsKey, rsSecondKey]);
  await writeJwks(atJwks, [atKey]);
  const common = { audience: AUDIENCE, maxTokenLifetime: '1h', clockTolerance: '5s' };
  const issuers = [
    { issuer: ISSUER, jwks: { file: workspace.issuer.jwksFile }, algorithms: ['ES256'], ...common },
    { issuer: RS_ISSUER, jwks: { file: rsJwks }, algorithms: ['RS256'], ...common },
    { issuer: AT_ISSUER, jwks: { file: atJwks }, algorithms: ['ES256'], typ: 'at+jwt', ...common },
  ];
  proxy = await startProxy(workspace, { upstreamUrl: upstream.url, natsUrl: nats.url, overrides: { issuers } }, 'hostile-tokens.yaml');
  await eventually(async () => proxy.replica.synced(), 10_000);
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
  await nats?.dispose();
  await workspace?.dispose();
  await new Promise((resolve) => keyServer?.close(resolve));
});

/** Starts a loopback server standing in for an attacker's key URL, which no request may ever reach. */
async function startKeyServer(): Promise<http.Server> {
  const server = http.createServer((_request, response) => {
    keyServerRequests++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: [attackerRsKey.publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function keyServerUrl(file: string): string {
  return `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/${file}`;
}

const now = () => Math.floor(Date.now() / 1000);

/** Valid claims for an issuer, with some replaced or added. */
function claims(iss: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss, aud: AUDIENCE, sub: SECRET_SUBJECT, jti: randomUUID(), iat: now(), exp: now() + 300, ...changes };
}

/**
 * Valid claims as exact JSON text, with members replaced by raw JSON values (`{ exp: '1e400' }`)
 * and raw members appended (`'"sub":"again"'`).
 */
function rawClaims(iss: string, replaced: Record<string, string> = {}, appended: string[] = []): string {
  const members: Record<string, string> = {
    iss: JSON.stringify(iss),
    aud: JSON.stringify(AUDIENCE),
    sub: JSON.stringify(SECRET_SUBJECT),
    jti: JSON.stringify(randomUUID()),
    iat: String(now()),
    exp: String(now() + 300),
    ...replaced,
  };
  const text = Object.entries(members).map(([name, value]) => `${JSON.stringify(name)}:${value}`);
  return `{${[...text, ...appended].join(',')}}`;
}

const rsHeader = (changes: Record<string, unknown> = {}) => ({ alg: 'RS256', typ: 'JWT', kid: 'rs-1', ...changes });
const atHeader = (changes: Record<string, unknown> = {}) => ({ alg: 'ES256', typ: 'at+jwt', kid: 'at-1', ...changes });

/** Signs an RS256 token of the RS issuer from objects or exact JSON text. */
function rsToken(payload: unknown = claims(RS_ISSUER), header: unknown = rsHeader()): string {
  return forgeToken(rsKey, header, payload);
}

function atToken(payload: unknown = claims(AT_ISSUER), header: unknown = atHeader()): string {
  return forgeToken(atKey, header, payload);
}

function unsignedToken(alg: string): string {
  return `${encodeSegment({ alg, typ: 'JWT' })}.${encodeSegment(claims(RS_ISSUER))}.`;
}

/** JSON text whose UTF-8 length is not a multiple of 3, so its base64url form has unused bits. */
function withUnusedBits(value: Record<string, unknown>): string {
  let text = JSON.stringify(value);
  while (Buffer.byteLength(text) % 3 === 0) text = `${text.slice(0, -1)} }`;
  return text;
}

/** Rewrites a segment in the standard base64 alphabet; throws when it has no `-` or `_` to rewrite. */
function toStandardAlphabet(segment: string): string {
  if (!/[-_]/.test(segment)) throw new Error('segment has no - or _, so the case would test nothing');
  return segment.replaceAll('-', '+').replaceAll('_', '/');
}

/** Claims with a member whose base64url form contains `_`, at any alignment. */
const claimsWithUnderscore = () => claims(RS_ISSUER, { note: '??????' });

interface TokenCase {
  name: string;
  /** The token, sent as `Authorization: Bearer <token>` to /orders. */
  token?: () => string | Promise<string>;
  /** Or the whole request: path and a flat header list. */
  request?: () => Promise<{ path: string; headers: string[] }>;
  status: number;
  /** The error reason, or 'ok' when the request must be forwarded. */
  reason: string;
}

const CASES: TokenCase[] = [
  // The algorithm header.
  { name: 'alg none', token: () => unsignedToken('none'), status: 401, reason: 'algorithm_not_allowed' },
  { name: 'alg None', token: () => unsignedToken('None'), status: 401, reason: 'algorithm_not_allowed' },
  { name: 'alg NONE', token: () => unsignedToken('NONE'), status: 401, reason: 'algorithm_not_allowed' },
  { name: 'alg nOnE', token: () => unsignedToken('nOnE'), status: 401, reason: 'algorithm_not_allowed' },
  { name: 'alg none with a signature', token: () => rsToken(claims(RS_ISSUER), rsHeader({ alg: 'none' })), status: 401, reason: 'algorithm_not_allowed' },
  { name: 'alg in lower case', token: () => atToken(claims(AT_ISSUER), atHeader({ alg: 'es256' })), status: 401, reason: 'algorithm_not_allowed' },
  { name: 'alg missing', token: () => rsToken(claims(RS_ISSUER), { typ: 'JWT', kid: 'rs-1' }), status: 401, reason: 'malformed_token' },
  { name: 'alg as a number', token: () => rsToken(claims(RS_ISSUER), rsHeader({ alg: 256 })), status: 401, reason: 'malformed_token' },
  { name: 'alg as an array', token: () => rsToken(claims(RS_ISSUER), rsHeader({ alg: ['RS256'] })), status: 401, reason: 'malformed_token' },
  {
    name: 'HS256 keyed with the RSA public key PEM',
    token: () => forgeHmacToken(rsKey.publicKey.export({ type: 'spki', format: 'pem' }), rsHeader({ alg: 'HS256' }), claims(RS_ISSUER)),
    status: 401,
    reason: 'algorithm_not_allowed',
  },
  {
    name: 'HS256 keyed with the RSA public JWK',
    token: () => forgeHmacToken(JSON.stringify(rsKey.publicJwk), rsHeader({ alg: 'HS256' }), claims(RS_ISSUER)),
    status: 401,
    reason: 'algorithm_not_allowed',
  },
  {
    name: 'HS256 keyed with the RSA modulus',
    token: () => forgeHmacToken(Buffer.from(String(rsKey.publicJwk['n']), 'base64url'), rsHeader({ alg: 'HS256' }), claims(RS_ISSUER)),
    status: 401,
    reason: 'algorithm_not_allowed',
  },
  { name: 'PS256 on an RS256 issuer', token: () => rsToken(claims(RS_ISSUER), rsHeader({ alg: 'PS256' })), status: 401, reason: 'algorithm_not_allowed' },
  { name: 'ES256 on an RS256 issuer', token: () => forgeToken(atKey, rsHeader({ alg: 'ES256', kid: 'at-1' }), claims(RS_ISSUER)), status: 401, reason: 'algorithm_not_allowed' },

  // The signature.
  { name: 'empty signature', token: () => editSegment(rsToken(), 2, () => ''), status: 401, reason: 'invalid_signature' },
  { name: 'signature of another token', token: () => editSegment(rsToken(), 2, () => rsToken().split('.')[2]!), status: 401, reason: 'invalid_signature' },
  { name: 'attacker key with the real kid', token: () => forgeToken(attackerRsKey, rsHeader(), claims(RS_ISSUER)), status: 401, reason: 'invalid_signature' },
  {
    name: 'signature one byte short',
    token: () => editSegment(rsToken(), 2, (segment) => Buffer.from(segment, 'base64url').subarray(0, -1).toString('base64url')),
    status: 401,
    reason: 'invalid_signature',
  },
  { name: 'signature one character short', token: () => editSegment(rsToken(), 2, (segment) => segment.slice(0, -1)), status: 401, reason: 'malformed_token' },
  { name: 'DER-encoded ES256 signature', token: () => forgeToken(atKey, atHeader(), claims(AT_ISSUER), { der: true }), status: 401, reason: 'invalid_signature' },
  {
    name: 'ES256 signature with a zero byte added',
    token: () => editSegment(atToken(), 2, (segment) => Buffer.concat([Buffer.from(segment, 'base64url'), Buffer.alloc(1)]).toString('base64url')),
    status: 401,
    reason: 'invalid_signature',
  },
  // ECDSA signatures are malleable: (r, n - s) verifies too. Revocation identifies such a token by
  // its jti or its header.payload hash, which this does not change.
  { name: 'malleated ES256 signature', token: () => malleateEs256(atToken()), status: 200, reason: 'ok' },

  // Key material carried in the header is never used.
  {
    name: 'attacker jwk embedded with the real kid',
    token: () => forgeToken(attackerRsKey, rsHeader({ jwk: attackerRsKey.publicJwk }), claims(RS_ISSUER)),
    status: 401,
    reason: 'invalid_signature',
  },
  {
    name: 'attacker jwk embedded without kid',
    token: () => forgeToken(attackerEsKey, { alg: 'ES256', typ: 'at+jwt', jwk: attackerEsKey.publicJwk }, claims(AT_ISSUER)),
    status: 401,
    reason: 'invalid_signature',
  },
  { name: 'attacker jku', token: () => forgeToken(attackerRsKey, rsHeader({ jku: keyServerUrl('jwks') }), claims(RS_ISSUER)), status: 401, reason: 'invalid_signature' },
  { name: 'attacker x5u', token: () => forgeToken(attackerRsKey, rsHeader({ x5u: keyServerUrl('cert.pem') }), claims(RS_ISSUER)), status: 401, reason: 'invalid_signature' },
  {
    name: 'attacker x5c',
    token: () => forgeToken(attackerRsKey, rsHeader({ x5c: [Buffer.from('not a certificate').toString('base64')] }), claims(RS_ISSUER)),
    status: 401,
    reason: 'invalid_signature',
  },
  { name: 'jku on a genuine token is ignored', token: () => rsToken(claims(RS_ISSUER), rsHeader({ jku: keyServerUrl('jwks') })), status: 200, reason: 'ok' },
  { name: 'jwk on a genuine token is ignored', token: () => rsToken(claims(RS_ISSUER), rsHeader({ jwk: attackerRsKey.publicJwk })), status: 200, reason: 'ok' },

  // Key ids.
  { name: 'kid with a path', token: () => rsToken(claims(RS_ISSUER), rsHeader({ kid: '../../../../etc/passwd' })), status: 401, reason: 'unknown_key' },
  { name: 'kid with SQL', token: () => rsToken(claims(RS_ISSUER), rsHeader({ kid: "rs-1' OR '1'='1" })), status: 401, reason: 'unknown_key' },
  { name: 'kid with NUL', token: () => rsToken(claims(RS_ISSUER), rsHeader({ kid: 'rs-1\u0000' })), status: 401, reason: 'unknown_key' },
  { name: 'kid as a number', token: () => rsToken(claims(RS_ISSUER), rsHeader({ kid: 1 })), status: 401, reason: 'unknown_key' },
  { name: 'kid as an object', token: () => rsToken(claims(RS_ISSUER), rsHeader({ kid: { $ne: '' } })), status: 401, reason: 'unknown_key' },
  { name: 'kid empty', token: () => rsToken(claims(RS_ISSUER), rsHeader({ kid: '' })), status: 401, reason: 'unknown_key' },
  { name: 'kid missing with two candidate keys', token: () => rsToken(claims(RS_ISSUER), { alg: 'RS256', typ: 'JWT' }), status: 401, reason: 'unknown_key' },
  { name: 'kid of another issuer', token: () => rsToken(claims(RS_ISSUER), rsHeader({ kid: 'at-1' })), status: 401, reason: 'unknown_key' },

  // Extensions and header parameters the proxy does not implement.
  { name: 'unknown crit', token: () => rsToken(claims(RS_ISSUER), rsHeader({ crit: ['x-revgate'], 'x-revgate': 1 })), status: 401, reason: 'malformed_token' },
  { name: 'crit naming a claim', token: () => rsToken(claims(RS_ISSUER), rsHeader({ crit: ['exp'], exp: 1 })), status: 401, reason: 'malformed_token' },
  { name: 'crit empty', token: () => rsToken(claims(RS_ISSUER), rsHeader({ crit: [] })), status: 401, reason: 'malformed_token' },
  { name: 'b64 false with crit', token: () => rsToken(claims(RS_ISSUER), rsHeader({ b64: false, crit: ['b64'] })), status: 401, reason: 'malformed_token' },
  { name: 'b64 false without crit', token: () => rsToken(claims(RS_ISSUER), rsHeader({ b64: false })), status: 401, reason: 'malformed_token' },
  { name: 'zip header', token: () => rsToken(claims(RS_ISSUER), rsHeader({ zip: 'DEF' })), status: 401, reason: 'malformed_token' },

  // Structure.
  { name: 'JWE compact serialization', token: () => ['eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ', 'a2V5', 'aXY', 'Y2lwaGVy', 'dGFn'].join('.'), status: 401, reason: 'malformed_token' },
  { name: 'two segments', token: () => rsToken().split('.').slice(0, 2).join('.'), status: 401, reason: 'malformed_token' },
  { name: 'four segments', token: () => `${rsToken()}.${encodeSegment({})}`, status: 401, reason: 'malformed_token' },
  { name: 'payload is an array', token: () => rsToken([claims(RS_ISSUER)]), status: 401, reason: 'malformed_token' },
  { name: 'payload is null', token: () => rsToken('null'), status: 401, reason: 'malformed_token' },
  { name: 'payload is a string', token: () => rsToken(JSON.stringify(JSON.stringify(claims(RS_ISSUER)))), status: 401, reason: 'malformed_token' },
  { name: 'header is an array', token: () => rsToken(claims(RS_ISSUER), [rsHeader()]), status: 401, reason: 'malformed_token' },
  { name: 'payload not UTF-8', token: () => rsToken(Buffer.concat([Buffer.from(rawClaims(RS_ISSUER).slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')])), status: 401, reason: 'malformed_token' },
  { name: 'payload with a byte order mark', token: () => rsToken(`\ufeff${rawClaims(RS_ISSUER)}`), status: 401, reason: 'malformed_token' },

  // Repeated JSON members, which parsers resolve differently.
  { name: 'header with two alg members', token: () => rsToken(rawClaims(RS_ISSUER), '{"alg":"none","alg":"RS256","typ":"JWT","kid":"rs-1"}'), status: 401, reason: 'malformed_token' },
  { name: 'header with two kid members', token: () => rsToken(rawClaims(RS_ISSUER), '{"alg":"RS256","kid":"rs-2","kid":"rs-1"}'), status: 401, reason: 'malformed_token' },
  { name: 'payload with two sub members', token: () => rsToken(rawClaims(RS_ISSUER, {}, ['"sub":"admin"'])), status: 401, reason: 'malformed_token' },
  { name: 'payload with two iss members', token: () => rsToken(rawClaims(ISSUER, {}, [`"iss":${JSON.stringify(RS_ISSUER)}`])), status: 401, reason: 'malformed_token' },
  { name: 'repeated member spelled with an escape', token: () => rsToken(rawClaims(RS_ISSUER, {}, ['"su\\u0062":"admin"'])), status: 401, reason: 'malformed_token' },
  { name: 'repeated member in a nested object', token: () => rsToken(rawClaims(RS_ISSUER, { cnf: '{"jkt":"a","jkt":"b"}' })), status: 401, reason: 'malformed_token' },

  // Non-canonical base64url spellings of a genuine token.
  { name: 'padding on the header', token: () => editSegment(rsToken(claims(RS_ISSUER), withUnusedBits(rsHeader())), 0, (segment) => `${segment}=`), status: 401, reason: 'malformed_token' },
  { name: 'padding on the payload', token: () => editSegment(rsToken(withUnusedBits(claims(RS_ISSUER))), 1, (segment) => `${segment}=`), status: 401, reason: 'malformed_token' },
  { name: 'padding on the signature', token: () => editSegment(rsToken(), 2, (segment) => `${segment}==`), status: 401, reason: 'malformed_token' },
  { name: 'standard alphabet in the header', token: () => editSegment(rsToken(claims(RS_ISSUER), rsHeader({ note: '??????' })), 0, toStandardAlphabet), status: 401, reason: 'malformed_token' },
  { name: 'standard alphabet in the payload', token: () => editSegment(rsToken(claimsWithUnderscore()), 1, toStandardAlphabet), status: 401, reason: 'malformed_token' },
  { name: 'standard alphabet in the signature', token: () => editSegment(rsToken(), 2, toStandardAlphabet), status: 401, reason: 'malformed_token' },
  { name: 'unused bits set in the header', token: () => editSegment(rsToken(claims(RS_ISSUER), withUnusedBits(rsHeader())), 0, setUnusedBits), status: 401, reason: 'malformed_token' },
  { name: 'unused bits set in the payload', token: () => editSegment(rsToken(withUnusedBits(claims(RS_ISSUER))), 1, setUnusedBits), status: 401, reason: 'malformed_token' },
  { name: 'unused bits set in the signature', token: () => editSegment(rsToken(), 2, setUnusedBits), status: 401, reason: 'malformed_token' },

  // Time claims.
  { name: 'exp as a string', token: () => rsToken(rawClaims(RS_ISSUER, { exp: `"${now() + 300}"` })), status: 401, reason: 'invalid_claims' },
  { name: 'exp as a float', token: () => rsToken(rawClaims(RS_ISSUER, { exp: `${now() + 300}.5` })), status: 200, reason: 'ok' },
  { name: 'exp huge', token: () => rsToken(rawClaims(RS_ISSUER, { exp: '1e20' })), status: 401, reason: 'lifetime_exceeded' },
  { name: 'exp 1e400', token: () => rsToken(rawClaims(RS_ISSUER, { exp: '1e400' })), status: 401, reason: 'invalid_claims' },
  { name: 'exp negative', token: () => rsToken(rawClaims(RS_ISSUER, { exp: '-1' })), status: 401, reason: 'token_expired' },
  { name: 'exp null', token: () => rsToken(rawClaims(RS_ISSUER, { exp: 'null' })), status: 401, reason: 'invalid_claims' },
  { name: 'exp true', token: () => rsToken(rawClaims(RS_ISSUER, { exp: 'true' })), status: 401, reason: 'invalid_claims' },
  { name: 'nbf as a string', token: () => rsToken(rawClaims(RS_ISSUER, { nbf: `"${now()}"` })), status: 401, reason: 'invalid_claims' },
  { name: 'nbf beyond tolerance', token: () => rsToken(rawClaims(RS_ISSUER, { nbf: String(now() + 60) })), status: 401, reason: 'token_not_yet_valid' },
  { name: 'nbf within tolerance', token: () => rsToken(rawClaims(RS_ISSUER, { nbf: String(now() + 2) })), status: 200, reason: 'ok' },
  { name: 'nbf 1e400', token: () => rsToken(rawClaims(RS_ISSUER, { nbf: '1e400' })), status: 401, reason: 'token_not_yet_valid' },
  { name: 'iat as a string', token: () => rsToken(rawClaims(RS_ISSUER, { iat: `"${now()}"` })), status: 401, reason: 'invalid_claims' },
  { name: 'iat as a float', token: () => rsToken(rawClaims(RS_ISSUER, { iat: `${now()}.25` })), status: 200, reason: 'ok' },
  { name: 'iat beyond tolerance', token: () => rsToken(rawClaims(RS_ISSUER, { iat: String(now() + 60) })), status: 401, reason: 'token_not_yet_valid' },
  { name: 'iat within tolerance', token: () => rsToken(rawClaims(RS_ISSUER, { iat: String(now() + 2) })), status: 200, reason: 'ok' },
  { name: 'iat 1e400', token: () => rsToken(rawClaims(RS_ISSUER, { iat: '1e400' })), status: 401, reason: 'invalid_claims' },
  { name: 'iat far in the past', token: () => rsToken(rawClaims(RS_ISSUER, { iat: '-1e20' })), status: 401, reason: 'lifetime_exceeded' },

  // Audience, issuer and string claims.
  { name: 'aud array with the audience', token: () => rsToken(claims(RS_ISSUER, { aud: ['other-api', AUDIENCE] })), status: 200, reason: 'ok' },
  { name: 'aud array without the audience', token: () => rsToken(claims(RS_ISSUER, { aud: ['other-api'] })), status: 401, reason: 'invalid_claims' },
  { name: 'aud empty array', token: () => rsToken(claims(RS_ISSUER, { aud: [] })), status: 401, reason: 'invalid_claims' },
  { name: 'aud as a number', token: () => rsToken(claims(RS_ISSUER, { aud: 1 })), status: 401, reason: 'invalid_claims' },
  { name: 'iss as an array', token: () => rsToken(claims(RS_ISSUER, { iss: [RS_ISSUER] })), status: 401, reason: 'invalid_claims' },
  { name: 'iss as a number', token: () => rsToken(claims(RS_ISSUER, { iss: 1 })), status: 401, reason: 'invalid_claims' },
  { name: 'iss missing', token: () => rsToken(claims(RS_ISSUER, { iss: undefined })), status: 401, reason: 'unknown_issuer' },
  { name: 'iss in another letter case', token: () => rsToken(claims(RS_ISSUER.toUpperCase())), status: 401, reason: 'unknown_issuer' },
  { name: 'iss with a trailing slash', token: () => rsToken(claims(`${RS_ISSUER}/`)), status: 401, reason: 'unknown_issuer' },
  { name: 'iss of another issuer', token: () => rsToken(claims(AT_ISSUER)), status: 401, reason: 'algorithm_not_allowed' },
  { name: 'sub as a number', token: () => rsToken(claims(RS_ISSUER, { sub: 42 })), status: 401, reason: 'invalid_claims' },
  { name: 'sub as an object', token: () => rsToken(claims(RS_ISSUER, { sub: { id: 'admin' } })), status: 401, reason: 'invalid_claims' },
  { name: 'jti as a number', token: () => rsToken(claims(RS_ISSUER, { jti: 7 })), status: 401, reason: 'invalid_claims' },
  { name: 'jti as an array', token: () => rsToken(claims(RS_ISSUER, { jti: ['a', 'b'] })), status: 401, reason: 'invalid_claims' },
  { name: 'scope as an array', token: () => rsToken(claims(RS_ISSUER, { scope: ['orders:read'] })), status: 401, reason: 'invalid_claims' },

  // Token types on the issuer that requires `typ: at+jwt`.
  { name: 'typ at+jwt', token: () => atToken(), status: 200, reason: 'ok' },
  { name: 'typ application/at+jwt', token: () => atToken(claims(AT_ISSUER), atHeader({ typ: 'application/at+jwt' })), status: 200, reason: 'ok' },
  { name: 'typ JWT where at+jwt is required', token: () => atToken(claims(AT_ISSUER), atHeader({ typ: 'JWT' })), status: 401, reason: 'invalid_claims' },
  { name: 'typ missing where at+jwt is required', token: () => atToken(claims(AT_ISSUER), { alg: 'ES256', kid: 'at-1' }), status: 401, reason: 'invalid_claims' },
  { name: 'typ as an array', token: () => atToken(claims(AT_ISSUER), atHeader({ typ: ['at+jwt'] })), status: 401, reason: 'invalid_claims' },
  {
    name: 'ID token as an access token',
    token: () => atToken(claims(AT_ISSUER, { nonce: 'n-0S6_WzA2Mj', auth_time: now(), at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' }), atHeader({ typ: 'JWT' })),
    status: 401,
    reason: 'invalid_claims',
  },
  {
    name: 'SET as an access token',
    token: () => atToken(claims(AT_ISSUER, { events: { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} } }), atHeader({ typ: 'secevent+jwt' })),
    status: 401,
    reason: 'invalid_claims',
  },

  // How the token reaches the proxy.
  { name: 'token over maxTokenBytes', token: () => `${'a'.repeat(8200)}.b.c`, status: 401, reason: 'token_too_large' },
  { name: 'access_token in the query', request: async () => ({ path: `/orders?access_token=${rsToken()}`, headers: [] }), status: 400, reason: 'token_in_query' },
  { name: 'percent-encoded access_token key', request: async () => ({ path: `/orders?%61ccess%5Ftoken=${rsToken()}`, headers: [] }), status: 400, reason: 'token_in_query' },
  { name: 'upper-case ACCESS_TOKEN key', request: async () => ({ path: '/orders?ACCESS_TOKEN=x', headers: [] }), status: 400, reason: 'token_in_query' },
  { name: 'access_token array key', request: async () => ({ path: '/orders?access_token[]=x', headers: [] }), status: 400, reason: 'token_in_query' },
  { name: 'access.token key', request: async () => ({ path: '/orders?access.token=x', headers: [] }), status: 400, reason: 'token_in_query' },
  { name: 'access_token in query and header', request: async () => ({ path: '/orders?a=1&access_token=x', headers: ['authorization', `Bearer ${rsToken()}`] }), status: 400, reason: 'token_in_query' },
  { name: 'access_token as a query value', request: async () => ({ path: '/orders?q=access_token', headers: ['authorization', `Bearer ${rsToken()}`] }), status: 200, reason: 'ok' },
  { name: 'two authorization headers', request: async () => ({ path: '/orders', headers: ['authorization', `Bearer ${rsToken()}`, 'authorization', `Bearer ${atToken()}`] }), status: 400, reason: 'duplicate_authorization' },
  { name: 'two identical authorization headers', request: async () => { const token = rsToken(); return { path: '/orders', headers: ['Authorization', `Bearer ${token}`, 'authorization', `Bearer ${token}`] }; }, status: 400, reason: 'duplicate_authorization' },
  { name: 'tab after Bearer', request: async () => ({ path: '/orders', headers: ['authorization', `Bearer\t${rsToken()}`] }), status: 401, reason: 'malformed_token' },
  { name: 'no-break space after Bearer', request: async () => ({ path: '/orders', headers: ['authorization', `Bearer\u00a0${rsToken()}`] }), status: 401, reason: 'malformed_token' },
  { name: 'two spaces after Bearer', request: async () => ({ path: '/orders', headers: ['authorization', `Bearer  ${rsToken()}`] }), status: 200, reason: 'ok' },
  { name: 'spaces around the value', request: async () => ({ path: '/orders', headers: ['authorization', `  Bearer ${rsToken()}  `] }), status: 200, reason: 'ok' },
  { name: 'Bearer without a token', request: async () => ({ path: '/orders', headers: ['authorization', 'Bearer'] }), status: 401, reason: 'malformed_token' },
  { name: 'two tokens in one header', request: async () => ({ path: '/orders', headers: ['authorization', `Bearer ${rsToken()}, Bearer ${rsToken()}`] }), status: 401, reason: 'malformed_token' },
  { name: 'whitespace inside the token', request: async () => ({ path: '/orders', headers: ['authorization', `Bearer ${rsToken().replace('.', ' .')}`] }), status: 401, reason: 'malformed_token' },
  { name: 'Basic credentials', request: async () => ({ path: '/orders', headers: ['authorization', 'Basic YWRtaW46YWRtaW4='] }), status: 401, reason: 'missing_token' },
  { name: 'scheme without a space', request: async () => ({ path: '/orders', headers: ['authorization', `Bearer${rsToken()}`] }), status: 401, reason: 'missing_token' },
  { name: 'lower-case scheme', request: async () => ({ path: '/orders', headers: ['authorization', `bearer ${rsToken()}`] }), status: 200, reason: 'ok' },
];

describe('hostile tokens', () => {
  test('corpus has at least 60 cases', () => {
    assert.ok(CASES.length >= 60, `${CASES.length} cases`);
    assert.equal(new Set(CASES.map((testCase) => testCase.name)).size, CASES.length, 'case names are unique');
  });

  for (const testCase of CASES) {
    test(`${testCase.name} gets ${testCase.status} ${testCase.reason}`, async () => {
      const { path: target, headers } = testCase.request ? await testCase.request() : { path: '/orders', headers: ['authorization', `Bearer ${await testCase.token!()}`] };
      const decision = testCase.reason === 'ok' ? 'allowed' : 'rejected';
      const labels = { route: '/', decision, reason: testCase.reason };
      const countBefore = await requestCount(proxy.adminUrl, labels);
      const seenBefore = upstream.seen.length;

      const response = await send(proxy.proxyUrl, target, headers);

      assert.equal(response.status, testCase.status, response.body);
      if (testCase.reason === 'ok') {
        assert.equal(upstream.seen.length, seenBefore + 1, 'the upstream received the request');
      } else {
        assert.deepEqual(JSON.parse(response.body), { error: testCase.reason });
        assert.equal(upstream.seen.length, seenBefore, 'the upstream must not see a rejected request');
      }
      if (testCase.status === 401) assert.match(String(response.headers['www-authenticate']), /^Bearer/);

      const line = lastAccessLine(proxy.logs);
      assert.equal(line.reason, testCase.reason, 'access-log reason');
      assert.equal(line.status, testCase.status, 'access-log status');
      assert.equal(await requestCount(proxy.adminUrl, labels), countBefore + 1, 'revgate_requests_total');
    });
  }

  test('no key URL from a token header was fetched', () => {
    assert.equal(keyServerRequests, 0);
  });

  test('no log line contains a token or a subject', () => {
    assert.ok(accessLines(proxy.logs).length >= CASES.length);
    for (const line of proxy.logs) {
      assert.ok(!line.includes(SECRET_SUBJECT), `subject logged: ${line}`);
      assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(line), `token segment logged: ${line}`);
    }
  });
});

describe('oversized authorization header', () => {
  test('header over maxHeaderSize gets 431 and is logged', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl);
    const countBefore = await requestCount(proxy.adminUrl, { route: 'unmatched', decision: 'rejected', reason: 'headers_too_large' });
    await connection.write(`GET /orders HTTP/1.1\r\nHost: a.test\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`);

    const response = await connection.response();
    assert.equal(response.status, 431);
    assert.deepEqual(JSON.parse(response.body), { error: 'headers_too_large' });
    await connection.waitForClose();
    assert.equal(lastAccessLine(proxy.logs).reason, 'headers_too_large');
    assert.equal(await requestCount(proxy.adminUrl, { route: 'unmatched', decision: 'rejected', reason: 'headers_too_large' }), countBefore + 1);
  });

  test('proxy stops reading a header of many megabytes', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const total = 64 * 1024 * 1024;
    await connection.write('GET /orders HTTP/1.1\r\nHost: a.test\r\nAuthorization: Bearer ');
    // Node's parser stops at maxHeaderSize and the connection closes, so the proxy never buffers
    // the whole header, and the writes stop being accepted long before the 64 MiB are sent.
    for (let sent = 0; sent < total && !connection.isClosed; sent += chunk.length) await connection.write(chunk);

    await connection.waitForClose();
    assert.ok(connection.bytesWritten < total / 4, `${connection.bytesWritten} bytes accepted`);
    assert.match(connection.text, /^HTTP\/1\.1 431 /);
  });
});
