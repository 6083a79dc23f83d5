/**
 * Properties of the token front: bearer extraction from arbitrary Authorization values and query
 * strings, the strict compact-JWS decoder, the duplicate-member scan, and the verifier on arbitrary
 * strings and on mutations of a genuine token. None may throw anything but a Rejection, none may
 * accept what it should not, and the same input must always get the same decision.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import fc from 'fast-check';

import { extractBearerToken } from '../../proxy/auth/bearer.js';
import { decodeCompactJws } from '../../proxy/auth/compact-jws.js';
import { IssuerRegistry } from '../../proxy/auth/issuers.js';
import { findDuplicateMember } from '../../proxy/auth/json-duplicates.js';
import { TokenVerifier } from '../../proxy/auth/verify.js';
import type { IssuerConfig } from '../../proxy/config/schema.js';
import { Rejection } from '../../proxy/errors.js';
import { fuzzParameters } from '../support/fuzz.js';
import { AUDIENCE, ISSUER, TestIssuer } from '../support/issuer.js';

let folder: string;
let issuer: TestIssuer;
let verifier: TokenVerifier;
let genuine: string;

before(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'revgate-fuzz-'));
  issuer = await TestIssuer.create(folder);
  const config: IssuerConfig = {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { file: issuer.jwksFile, cooldown: 30_000, timeout: 5000 },
    algorithms: ['ES256'],
    maxTokenLifetime: 3_600_000,
    clockTolerance: 5000,
  };
  // No cache, so that every call runs the whole verification.
  verifier = new TokenVerifier(await IssuerRegistry.load([config]), { cacheEntries: 0 });
  genuine = await issuer.token({ claims: { scope: 'a b' } });
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Runs `action` and returns 'ok' or the Rejection reason; any other error fails the property. */
async function decisionOf(action: () => unknown): Promise<string> {
  try {
    await action();
    return 'ok';
  } catch (error) {
    if (error instanceof Rejection) return error.reason;
    throw error;
  }
}

function requestWithAuthorization(values: string[]): IncomingMessage {
  return { headersDistinct: values.length === 0 ? {} : { authorization: values } } as unknown as IncomingMessage;
}

const tokenCharacters = fc.constantFrom(...'ABCDEFabcdef0189-_+/=.~ \t,'.split(''), 'eyJ', 'Bearer ', 'bearer ', '\u00a0');
const authorizationValue = fc.oneof(
  fc.string({ unit: tokenCharacters, maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ unit: tokenCharacters, maxLength: 40 }).map((rest) => `Bearer ${rest}`),
);
const query = fc.oneof(
  fc.constant(''),
  fc.string({ unit: fc.constantFrom('?', '&', '=', 'a', 'access', '_', '.', '[', ']', 'token', '%5F', '%61', ' ', '+'), maxLength: 20 }).map((text) => `?${text}`),
);

test('bearer extraction throws only rejections', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(authorizationValue, { maxLength: 2 }), query, async (values, queryString) => {
      const decision = await decisionOf(() => extractBearerToken(requestWithAuthorization(values), queryString, 64));
      assert.ok(['ok', 'token_in_query', 'duplicate_authorization', 'malformed_token', 'token_too_large'].includes(decision), decision);
    }),
    fuzzParameters(2000),
  );
});

test('extracted token is a b64token within the size limit', () => {
  fc.assert(
    fc.property(authorizationValue, (value) => {
      let token: string | undefined;
      try {
        token = extractBearerToken(requestWithAuthorization([value]), '', 64);
      } catch (error) {
        if (error instanceof Rejection) return;
        throw error;
      }
      if (token === undefined) return;
      assert.match(token, /^[A-Za-z0-9\-._~+/]+=*$/);
      assert.ok(token.length <= 64);
    }),
    fuzzParameters(2000),
  );
});

test('compact JWS decoder throws only malformed_token', async () => {
  const segment = fc.oneof(fc.base64String({ maxLength: 40 }), fc.string({ unit: 'binary-ascii', maxLength: 20 }), fc.constant('eyJ9'));
  const candidate = fc.oneof(fc.string({ maxLength: 60 }), fc.array(segment, { maxLength: 5 }).map((segments) => segments.join('.')));
  await fc.assert(
    fc.asyncProperty(candidate, async (token) => {
      const decision = await decisionOf(() => decodeCompactJws(token));
      assert.ok(decision === 'ok' || decision === 'malformed_token', decision);
    }),
    fuzzParameters(2000),
  );
});

test('compact JWS decoder returns the encoded objects', () => {
  const member = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
  fc.assert(
    fc.property(member, member, (header, payload) => {
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      // Keys such as "zip" and "b64" are rejected on purpose; the property covers all others.
      delete header['zip'];
      delete header['b64'];
      const decoded = decodeCompactJws(`${encode(header)}.${encode(payload)}.`);
      assert.deepEqual(decoded, JSON.parse(JSON.stringify({ header, payload })));
    }),
    fuzzParameters(1000),
  );
});

test('duplicate scan finds nothing in serialized JSON', () => {
  fc.assert(
    fc.property(fc.json({ maxDepth: 4 }), (text) => {
      assert.equal(findDuplicateMember(text), undefined);
    }),
    fuzzParameters(2000),
  );
});

test('duplicate scan finds an injected repeat at any depth', () => {
  const name = fc.string({ maxLength: 6 });
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), name, fc.integer({ min: 0, max: 3 }), (value, repeated, depth) => {
      let text = `{${JSON.stringify(repeated)}:1,"x":${JSON.stringify(value)},${JSON.stringify(repeated)}:2}`;
      for (let level = 0; level < depth; level++) text = level % 2 === 0 ? `{"outer":${text}}` : `[0,${text}]`;
      assert.equal(findDuplicateMember(text), repeated);
    }),
    fuzzParameters(2000),
  );
});

test('duplicate scan never throws on arbitrary text', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', 'a', '1', ' '), maxLength: 40 }), (text) => {
      findDuplicateMember(text);
    }),
    fuzzParameters(2000),
  );
});

test('verifier rejects arbitrary strings with a rejection', async () => {
  const candidate = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.array(fc.base64String({ maxLength: 60 }).map((text) => text.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '')), { minLength: 3, maxLength: 3 }).map((parts) => parts.join('.')),
  );
  await fc.assert(
    fc.asyncProperty(candidate, async (token) => {
      const decision = await decisionOf(() => verifier.verify(token));
      assert.notEqual(decision, 'ok', token);
    }),
    fuzzParameters(1000, 10),
  );
});

test('verifier rejects every edit of a genuine token', async () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/';
  // Edits at the end hit the signature's padding and unused bits, where a lenient decoder fails.
  const edit = fc.record({
    kind: fc.constantFrom('replace', 'insert', 'delete', 'append', 'replace-last'),
    position: fc.nat(),
    character: fc.constantFrom(...alphabet.split('')),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
      let token = genuine;
      for (const { kind, position, character } of edits) {
        const at = position % (token.length + 1);
        if (kind === 'replace') token = `${token.slice(0, at)}${character}${token.slice(at + 1)}`;
        else if (kind === 'insert') token = `${token.slice(0, at)}${character}${token.slice(at)}`;
        else if (kind === 'delete') token = `${token.slice(0, at)}${token.slice(at + 1)}`;
        else if (kind === 'append') token = `${token}${character}`;
        else token = `${token.slice(0, -1)}${character}`;
      }
      if (token === genuine) return;
      const first = await decisionOf(() => verifier.verify(token));
      const second = await decisionOf(() => verifier.verify(token));
      assert.notEqual(first, 'ok', `edited token accepted: ${token}`);
      assert.equal(second, first, 'same token, same decision');
    }),
    fuzzParameters(1000, 10),
  );
});

test('genuine token is accepted', async () => {
  assert.equal(await decisionOf(() => verifier.verify(genuine)), 'ok');
});
