/** A test incident responder: an Ed25519 key pair, its JWK files, and publishing revocations. */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { importJWK, type CryptoKey } from 'jose';

import { signRevocationEvent, type RevocationTarget } from '../../proxy/revocation/event.js';
import { publishUntilAcknowledged } from '../../proxy/revocation/publisher.js';
import type { NatsConnectionSettings } from '../../proxy/revocation/nats-connection.js';
import { generateResponderKey } from '../../proxy/revocation/responder-keys.js';
import { subjectFor } from '../../proxy/revocation/stream.js';

export class TestResponder {
  constructor(
    readonly kid: string,
    readonly privateKeyFile: string,
    readonly jwksFile: string,
    private readonly key: CryptoKey,
  ) {}

  static async create(folder: string, kid: string, trusted: boolean): Promise<TestResponder> {
    const { privateJwk, publicJwk } = await generateResponderKey(kid);
    const privateKeyFile = path.join(folder, `${kid}.private.jwk.json`);
    const jwksFile = path.join(folder, trusted ? 'responders.jwks.json' : `${kid}.jwks.json`);
    await writeFile(privateKeyFile, JSON.stringify(privateJwk), { mode: 0o600 });
    await writeFile(jwksFile, JSON.stringify({ keys: [publicJwk] }));
    return new TestResponder(kid, privateKeyFile, jwksFile, (await importJWK(privateJwk, 'EdDSA')) as CryptoKey);
  }

  /** Signs and publishes a revocation through the library, as the CLI does; returns the revocation id. */
  async revoke(
    nats: string | NatsConnectionSettings,
    target: RevocationTarget,
    options: { stream?: string; timeout?: number; issuedAt?: number } = {},
  ): Promise<string> {
    const stream = options.stream ?? 'REVGATE';
    const id = randomUUID();
    const payload = await signRevocationEvent({ id, target, reason: 'test', issuedAt: options.issuedAt }, { key: this.key, kid: this.kid, alg: 'EdDSA' });
    const settings = typeof nats === 'string' ? { servers: [nats], name: 'revgate-test' } : nats;
    await publishUntilAcknowledged({ nats: settings, stream, subject: subjectFor(stream, target, id), payload, messageId: id, timeout: options.timeout ?? 10_000 });
    return id;
  }
}
