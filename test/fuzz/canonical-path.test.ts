/**
 * Properties of the path canonicalizer on generated request targets: it never throws, its output
 * is already canonical (a second pass changes nothing), the output has the documented shape, and
 * the query string passes through unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { canonicalizeTarget } from '../../proxy/routes/canonical-path.js';
import { fuzzParameters } from '../support/fuzz.js';

/** Pieces that matter to path handling, mixed with plain text. */
const PIECES = [
  '/', '//', '.', '..', '%', '%2e', '%2E', '%2f', '%2F', '%5c', '%25', '%00', '%3b', '%41', '%61', '%7e', '%7E', '%20', '%zz',
  '%c3%a4', ';', '\\', '?', '#', '&', '=', '+', '~', '-', '_', 'admin', 'ADMIN', 'public', 'a', 'B', '0', '\u00e4', '\t', ' ', '\u0000',
];

const pathLike = fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }).map((pieces) => pieces.join(''));
const target = fc.oneof(pathLike.map((path) => `/${path}`), pathLike, fc.string({ unit: 'binary', maxLength: 40 }));

const FORBIDDEN_ESCAPES = new Set(['2F', '5C', '00', '2E', '3B']);
const UNRESERVED = /^[A-Za-z0-9\-_~]$/;

/** Returns why a canonical path has the wrong shape, or undefined when it is fine. */
function shapeProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'does not start with /';
  if (path.includes('//')) return 'has an empty segment';
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) return 'has a dot segment';
  if (/[\\#;?\x00-\x20\x7f-\uffff]/.test(path)) return 'has a raw character that must be rejected or escaped';
  for (const match of path.matchAll(/%(.{0,2})/g)) {
    const hex = match[1] ?? '';
    if (!/^[0-9A-F]{2}$/.test(hex)) return `has a malformed or lower-case escape %${hex}`;
    if (FORBIDDEN_ESCAPES.has(hex)) return `keeps the ambiguous escape %${hex}`;
    if (UNRESERVED.test(String.fromCharCode(Number.parseInt(hex, 16)))) return `keeps an escape of an unreserved character %${hex}`;
  }
  return undefined;
}

test('canonicalize never throws', () => {
  fc.assert(
    fc.property(target, (input) => {
      canonicalizeTarget(input);
    }),
    fuzzParameters(2000),
  );
});

test('canonicalize is idempotent', () => {
  fc.assert(
    fc.property(target, (input) => {
      const first = canonicalizeTarget(input);
      if (!first) return;
      assert.deepEqual(canonicalizeTarget(`${first.path}${first.query}`), first);
    }),
    fuzzParameters(2000),
  );
});

test('canonical path has the documented shape', () => {
  fc.assert(
    fc.property(target, (input) => {
      const result = canonicalizeTarget(input);
      if (!result) return;
      assert.equal(shapeProblem(result.path), undefined, `${JSON.stringify(input)} -> ${JSON.stringify(result.path)}`);
    }),
    fuzzParameters(2000),
  );
});

test('query passes through unchanged', () => {
  fc.assert(
    fc.property(target, (input) => {
      const result = canonicalizeTarget(input);
      if (!result) return;
      const queryStart = input.indexOf('?');
      assert.equal(result.query, queryStart === -1 ? '' : input.slice(queryStart));
    }),
    fuzzParameters(2000),
  );
});

test('same target gets the same decision', () => {
  fc.assert(
    fc.property(target, (input) => {
      assert.deepEqual(canonicalizeTarget(input), canonicalizeTarget(input));
    }),
    fuzzParameters(500),
  );
});
