import assert from 'node:assert/strict';
import { test } from 'node:test';

import { canonicalizeTarget } from '../../proxy/routes/canonical-path.js';

/** Request targets that are accepted, with the canonical path and the query they must produce. */
const ACCEPTED: readonly { target: string; path: string; query: string }[] = [
  { target: '/', path: '/', query: '' },
  { target: '/a/b', path: '/a/b', query: '' },
  { target: '/a//b', path: '/a/b', query: '' },
  { target: '//admin', path: '/admin', query: '' },
  { target: '/a///b//', path: '/a/b/', query: '' },
  { target: '/a/./b', path: '/a/b', query: '' },
  { target: '/a/../b', path: '/b', query: '' },
  { target: '/public/../admin', path: '/admin', query: '' },
  { target: '/a/b/../../c', path: '/c', query: '' },
  { target: '/a/..', path: '/', query: '' },
  { target: '/a/b/..', path: '/a/', query: '' },
  { target: '/.', path: '/', query: '' },
  { target: '/admin/', path: '/admin/', query: '' },
  { target: '/admin/./', path: '/admin/', query: '' },
  { target: '/admin/.', path: '/admin/', query: '' },
  { target: '/.../x', path: '/.../x', query: '' },
  { target: '/..a/x', path: '/..a/x', query: '' },
  { target: '/%61dmin', path: '/admin', query: '' },
  { target: '/%41DMIN', path: '/ADMIN', query: '' },
  { target: '/%7e', path: '/~', query: '' },
  { target: '/%7E', path: '/~', query: '' },
  { target: '/%2d%5f%30', path: '/-_0', query: '' },
  { target: '/%20', path: '/%20', query: '' },
  { target: '/%c3%a9', path: '/%C3%A9', query: '' },
  { target: '/%2A', path: '/%2A', query: '' },
  { target: '/admin%23', path: '/admin%23', query: '' },
  { target: '/%3F', path: '/%3F', query: '' },
  { target: '/%25', path: '/%25', query: '' },
  { target: '/%25zz', path: '/%25zz', query: '' },
  { target: '/admin?x=/public', path: '/admin', query: '?x=/public' },
  { target: '/public?x=/admin', path: '/public', query: '?x=/admin' },
  { target: '/a?x=../../b', path: '/a', query: '?x=../../b' },
  { target: '/a?x=%2F..%5C%00', path: '/a', query: '?x=%2F..%5C%00' },
  { target: '/a?b?c', path: '/a', query: '?b?c' },
  { target: '/a?x=#frag', path: '/a', query: '?x=#frag' },
  { target: '/?', path: '/', query: '?' },
  { target: '/a//./b/?q=1', path: '/a/b/', query: '?q=1' },
];

/** Request targets that must be rejected, each with the reason it is ambiguous. */
const REJECTED: readonly { target: string; why: string }[] = [
  { target: '/%3b', why: 'encoded semicolon' },
  { target: '/admin;x=y', why: 'path parameter' },
  { target: '/;', why: 'bare semicolon' },
  { target: '/;/reports/x', why: 'semicolon segment before a route prefix' },
  { target: '', why: 'empty target' },
  { target: '*', why: 'asterisk form' },
  { target: 'http://h/x', why: 'absolute form' },
  { target: 'h:80', why: 'authority form' },
  { target: 'a/b', why: 'no leading slash' },
  { target: '/..', why: '.. above the root' },
  { target: '/../x', why: '.. above the root' },
  { target: '/a/../../x', why: '.. above the root after popping' },
  { target: '/%2Fadmin', why: 'encoded slash' },
  { target: '/%2fadmin', why: 'encoded slash, lower case' },
  { target: '/a%5Cb', why: 'encoded backslash' },
  { target: '/a%5cb', why: 'encoded backslash, lower case' },
  { target: '/a\\b', why: 'raw backslash' },
  { target: '/a%00b', why: 'encoded NUL' },
  { target: '/%2e%2e/x', why: 'encoded dot segment' },
  { target: '/%2E', why: 'encoded dot' },
  { target: '/a/%2e/b', why: 'encoded single dot' },
  { target: '/a%2Eb', why: 'encoded dot inside a segment' },
  { target: '/%G1', why: 'invalid escape' },
  { target: '/%4', why: 'truncated escape at the end' },
  { target: '/%4/', why: 'truncated escape before a slash' },
  { target: '/a%', why: 'lone percent sign' },
  { target: '/%252e', why: 'double-encoded dot' },
  { target: '/%252F', why: 'double-encoded slash' },
  { target: '/%2525', why: 'double-encoded percent sign' },
  { target: '/..;/admin', why: 'dot-dot segment with a parameter' },
  { target: '/.;/x', why: 'dot segment with a parameter' },
  { target: '/a/..;x', why: 'dot-dot with a parameter inside the path' },
  { target: '/a#b', why: 'raw fragment' },
  { target: '/a b', why: 'raw space' },
  { target: '/a\tb', why: 'raw tab' },
  { target: '/a\x7f', why: 'raw DEL' },
  { target: '/\u00e9', why: 'raw non-ASCII' },
  { target: '/\u{1F600}', why: 'raw astral character' },
];

for (const { target, path, query } of ACCEPTED) {
  test(`canonicalizeTarget accepts ${JSON.stringify(target)}`, () => {
    const result = canonicalizeTarget(target);
    assert.ok(result, `${JSON.stringify(target)} was rejected`);
    assert.equal(result.path, path);
    assert.equal(result.query, query);
  });
}

for (const { target, why } of REJECTED) {
  test(`canonicalizeTarget rejects ${JSON.stringify(target)}`, () => {
    assert.equal(canonicalizeTarget(target), undefined, why);
  });
}

// The double-encoding rule looks only at the two raw characters after `%25`. When those are
// escapes themselves (`%25%32%65`), decoding the unreserved digits yields `%252e` in the output,
// the double-encoded dot that the rule exists to reject.
for (const target of ['/%25%32%65', '/public/%25%32%65%25%32%65/admin', '/%25%32%66admin']) {
  test(`canonicalizeTarget rejects encoded double encoding ${JSON.stringify(target)}`, () => {
    assert.equal(canonicalizeTarget(target), undefined);
  });
}

test('canonicalizeTarget output is a fixed point', () => {
  for (const { target } of ACCEPTED) {
    const first = canonicalizeTarget(target);
    assert.ok(first, `${JSON.stringify(target)} was rejected`);
    const second = canonicalizeTarget(first.path + first.query);
    assert.deepEqual(second, first, `canonicalizing ${JSON.stringify(target)} twice changed it`);
  }
});
