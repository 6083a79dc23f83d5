import assert from 'node:assert/strict';
import { test } from 'node:test';

import { findDuplicateMember } from '../../proxy/auth/json-duplicates.js';

const CASES: readonly { json: string; duplicate: string | undefined }[] = [
  { json: '{}', duplicate: undefined },
  { json: '{"a":1,"b":2}', duplicate: undefined },
  { json: '{"a":1,"a":2}', duplicate: 'a' },
  { json: '{"alg":"none","alg":"RS256"}', duplicate: 'alg' },
  { json: '{"sub":"a","su\\u0062":"b"}', duplicate: 'sub' },
  { json: '{"a":{"b":1,"b":2}}', duplicate: 'b' },
  { json: '{"a":[{"b":1},{"b":2}]}', duplicate: undefined },
  { json: '{"a":[{"b":1,"c":{"d":1,"d":1}}]}', duplicate: 'd' },
  { json: '[{"a":1},{"a":1}]', duplicate: undefined },
  { json: '{"a":{"x":1},"b":{"x":1}}', duplicate: undefined },
  { json: '{"a":"\\"b\\":1,\\"a\\":2"}', duplicate: undefined },
  { json: '{"a":"}","a":1}', duplicate: 'a' },
  { json: '{"a":"{","b":{"a":1}}', duplicate: undefined },
  { json: '{"":1,"":2}', duplicate: '' },
  { json: '{"__proto__":1,"__proto__":2}', duplicate: '__proto__' },
  { json: '{ "a" : 1 , "a" : 2 }', duplicate: 'a' },
  { json: '{"a\\\\":1,"a\\\\":2}', duplicate: 'a\\' },
  { json: '{"a":[1,"a",{"a":1}],"a":2}', duplicate: 'a' },
  { json: '"a"', duplicate: undefined },
  { json: 'null', duplicate: undefined },
];

for (const { json, duplicate } of CASES) {
  test(`findDuplicateMember ${json}`, () => {
    assert.equal(findDuplicateMember(json), duplicate);
  });
}

test('findDuplicateMember on unterminated text', () => {
  assert.equal(findDuplicateMember('{"a":1,"a'), undefined);
  assert.equal(findDuplicateMember('{"a'), undefined);
});
