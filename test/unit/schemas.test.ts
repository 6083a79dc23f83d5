/**
 * The JSON Schemas in config/ describe what the code accepts: every example validates against its
 * schema, and the proxy and the CLI accept every example too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Ajv2020 } from 'ajv/dist/2020.js';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';

import { revocationRequestSchema, targetOf } from '../../proxy/cli/revocation-request.js';
import { parseConfigText } from '../../proxy/config/load.js';
import { verifyRevocationEvent } from '../../proxy/revocation/event.js';

const read = (name: string) => JSON.parse(readFileSync(new URL(`../../config/${name}`, import.meta.url), 'utf8')) as { examples: Record<string, unknown>[] };
const eventSchema = read('revocation-event.schema.json');
const requestSchema = read('revocation-request.schema.json');
const ajv = new Ajv2020({ strict: false, allErrors: true });

test('event schema examples validate', () => {
  const validate = ajv.compile(eventSchema);
  for (const example of eventSchema.examples) assert.ok(validate(example), JSON.stringify(validate.errors));
});

test('event schema rejects an extra subject member', () => {
  const validate = ajv.compile(eventSchema);
  const example = structuredClone(eventSchema.examples[0]!) as { events: Record<string, { subject: Record<string, string> }> };
  Object.values(example.events)[0]!.subject['extra'] = 'x';
  assert.equal(validate(example), false);
});

test('event schema examples are accepted by proxies', async () => {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }] });
  for (const example of eventSchema.examples) {
    const compact = await new SignJWT(example).setProtectedHeader({ alg: 'EdDSA', typ: 'secevent+jwt', kid: 'k1' }).sign(privateKey);
    const event = await verifyRevocationEvent(compact, { revoke: keys, lift: keys }, 1_796_367_600_000 + 3_600_000);
    assert.notEqual(event.command.action, 'ignore', JSON.stringify(example));
  }
});

test('request schema examples validate', () => {
  const validate = ajv.compile(requestSchema);
  for (const example of requestSchema.examples) assert.ok(validate(example), JSON.stringify(validate.errors));
});

test('request schema examples are accepted by the CLI', () => {
  for (const example of requestSchema.examples) {
    const request = revocationRequestSchema.parse(example);
    assert.ok(targetOf(request, 1_796_367_600 + 60));
  }
});

test('example config is valid', () => {
  const file = new URL('../../config/revgate.example.yaml', import.meta.url);
  const config = parseConfigText(readFileSync(file, 'utf8'), file.pathname);
  assert.equal(config.routes.at(-1)?.path, '/');
  assert.equal(config.revocation.snapshot?.path, '/var/run/revgate/replica.snapshot');
});
