import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';

import { extractBearerToken } from '../../proxy/auth/bearer.js';
import { Rejection, type RejectionReason } from '../../proxy/errors.js';

const MAX_TOKEN_BYTES = 16;

/** Builds a request with only what extractBearerToken reads: the Authorization values as Node splits them. */
function requestWith(authorization?: string[]): IncomingMessage {
  const headersDistinct = authorization === undefined ? {} : { authorization };
  return { headersDistinct } as unknown as IncomingMessage;
}

function extract(authorization?: string[], query = ''): string | undefined {
  return extractBearerToken(requestWith(authorization), query, MAX_TOKEN_BYTES);
}

/** Runs the extraction, which must throw a Rejection, and returns its reason. */
function rejectionOf(authorization?: string[], query = ''): RejectionReason {
  try {
    extract(authorization, query);
  } catch (error) {
    assert.ok(error instanceof Rejection, `expected a Rejection, got ${String(error)}`);
    return error.reason;
  }
  assert.fail('the request was accepted');
}

test('extractBearerToken no header', () => {
  assert.equal(extract(), undefined);
});

test('extractBearerToken empty header list', () => {
  assert.equal(extract([]), undefined);
});

const NOT_BEARER: readonly string[] = ['Basic dXNlcjpwYXNz', 'Digest username="a"', 'BearerTOKEN', 'Bearers TOKEN', '', ' Bearer TOKEN'];

for (const value of NOT_BEARER) {
  test(`extractBearerToken other scheme ${JSON.stringify(value)}`, () => {
    assert.equal(extract([value]), undefined);
  });
}

const ACCEPTED: readonly { value: string; token: string }[] = [
  { value: 'Bearer abc.def.ghi', token: 'abc.def.ghi' },
  { value: 'bearer TOKEN', token: 'TOKEN' },
  { value: 'BEARER TOKEN', token: 'TOKEN' },
  { value: 'BeArEr TOKEN', token: 'TOKEN' },
  { value: 'Bearer  TOKEN', token: 'TOKEN' },
  { value: 'Bearer a-b_c~d+e/f', token: 'a-b_c~d+e/f' },
  { value: 'Bearer abc==', token: 'abc==' },
  { value: `Bearer ${'t'.repeat(MAX_TOKEN_BYTES)}`, token: 't'.repeat(MAX_TOKEN_BYTES) },
];

for (const { value, token } of ACCEPTED) {
  test(`extractBearerToken accepts ${JSON.stringify(value)}`, () => {
    assert.equal(extract([value]), token);
  });
}

const MALFORMED: readonly string[] = [
  'Bearer',
  'Bearer ',
  'Bearer\tTOKEN',
  'Bearer \tTOKEN',
  'Bearer TOKEN junk',
  'Bearer TOKEN ',
  'Bearer =abc',
  'Bearer a=b',
  'Bearer tok,en',
  'Bearer "TOKEN"',
  'Bearer TOK\u00e9N',
];

for (const value of MALFORMED) {
  test(`extractBearerToken malformed ${JSON.stringify(value)}`, () => {
    assert.equal(rejectionOf([value]), 'malformed_token');
  });
}

test('extractBearerToken duplicate bearer headers', () => {
  assert.equal(rejectionOf(['Bearer a', 'Bearer b']), 'duplicate_authorization');
});

test('extractBearerToken duplicate identical headers', () => {
  assert.equal(rejectionOf(['Bearer a', 'Bearer a']), 'duplicate_authorization');
});

test('extractBearerToken duplicate mixed schemes', () => {
  assert.equal(rejectionOf(['Basic x', 'Bearer b']), 'duplicate_authorization');
});

const TOKEN_QUERIES: readonly string[] = [
  '?access_token=x',
  '?access_token=',
  '?access_token',
  '?access_token&b=1',
  '?a=1&access_token=x',
  '?a=1&access_token=',
  '?ACCESS_TOKEN=x',
  '?Access_Token=x',
];

for (const query of TOKEN_QUERIES) {
  test(`extractBearerToken token in query ${query}`, () => {
    assert.equal(rejectionOf(['Bearer TOKEN'], query), 'token_in_query');
  });
}

test('extractBearerToken query checked without header', () => {
  assert.equal(rejectionOf(undefined, '?access_token=x'), 'token_in_query');
});

const HARMLESS_QUERIES: readonly string[] = ['', '?', '?my_access_token=x', '?x=access_token', '?access_tokens=x', '?a=1&xaccess_token=2', '?q=a&access_token_hint=1'];

for (const query of HARMLESS_QUERIES) {
  test(`extractBearerToken harmless query ${JSON.stringify(query)}`, () => {
    assert.equal(extract(['Bearer TOKEN'], query), 'TOKEN');
  });
}

// Query parsers such as Node's URLSearchParams percent-decode keys, so an upstream that accepts
// query tokens reads `access%5Ftoken` as `access_token`. The proxy matches only the raw key.
for (const query of ['?access%5Ftoken=x', '?a=1&access%5ftoken=x', '?%61ccess_token=x']) {
  test(`extractBearerToken encoded token in query ${query}`, () => {
    assert.equal(rejectionOf(undefined, query), 'token_in_query');
  });
}

test('extractBearerToken token over limit', () => {
  assert.equal(rejectionOf([`Bearer ${'t'.repeat(MAX_TOKEN_BYTES + 1)}`]), 'token_too_large');
});

test('extractBearerToken size checked before syntax', () => {
  assert.equal(rejectionOf([`Bearer ${'"'.repeat(MAX_TOKEN_BYTES + 100)}`]), 'token_too_large');
});

test('extractBearerToken huge header', () => {
  assert.equal(rejectionOf([`Bearer ${'t'.repeat(1_000_000)}`]), 'token_too_large');
});

// The size check counts the separator as exactly one space. With two spaces, a token of exactly
// maxTokenBytes is reported as too large although the token itself is within the limit.
test('extractBearerToken two spaces token at limit', () => {
  const token = 't'.repeat(MAX_TOKEN_BYTES);

  assert.equal(extract([`Bearer  ${token}`]), token);
});
