/** `revgate keys generate`: create an Ed25519 responder key pair as JWK files. */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { Command } from 'commander';
import type { JSONWebKeySet } from 'jose';

import { RevgateError } from '../errors.js';
import { generateResponderKey } from '../revocation/responder-keys.js';

export function keysCommand(): Command {
  const keys = new Command('keys').description('manage responder keys');
  keys
    .command('generate')
    .description('generate an Ed25519 responder key pair: KID.private.jwk.json (mode 0600) and KID.public.jwk.json')
    .option('--kid <kid>', 'key id; names the responder in every event signed with the key')
    .option('--out <dir>', 'folder for the two files', '.')
    .option('--jwks <file>', 'also add the public key to this JWKS file (the proxies\' revocation.trustedResponders), creating it if needed')
    .option('--json', 'print the file names as one JSON object')
    .addHelpText('after', '\nExample:\n  revgate keys generate --kid alice --out keys --jwks keys/responders.jwks.json')
    .action(async (options: { kid?: string; out: string; jwks?: string; json?: boolean }) => {
      const kid = options.kid ?? `responder-${randomBytes(4).toString('hex')}`;
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(kid)) throw new RevgateError('ERR_USAGE', `--kid "${kid}": must be 1-64 letters, digits, ".", "_" or "-"`);

      const { privateJwk, publicJwk } = await generateResponderKey(kid);
      await mkdir(options.out, { recursive: true });
      const privateFile = path.join(options.out, `${kid}.private.jwk.json`);
      const publicFile = path.join(options.out, `${kid}.public.jwk.json`);
      await writeNew(privateFile, privateJwk, 0o600);
      await writeNew(publicFile, publicJwk, 0o644);
      if (options.jwks) await addToJwks(options.jwks, publicJwk);
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ kid, privateKey: privateFile, publicKey: publicFile, jwks: options.jwks ?? null })}\n`);
        return;
      }
      process.stdout.write(`private key: ${privateFile} (keep it secret; pass it to revoke with --signing-key)\npublic key:  ${publicFile}\n`);
      if (options.jwks) process.stdout.write(`added kid ${kid} to ${options.jwks}\n`);
    });
  return keys;
}

async function writeNew(file: string, value: unknown, mode: number): Promise<void> {
  try {
    await writeFile(file, `${JSON.stringify(value, null, 2)}\n`, { flag: 'wx', mode });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'EEXIST' ? 'already exists; choose another --kid or --out' : `cannot be written (${code})`;
    throw new RevgateError('ERR_USAGE', `${file}: ${hint}`);
  }
}

async function addToJwks(file: string, publicJwk: JSONWebKeySet['keys'][number]): Promise<void> {
  let jwks: JSONWebKeySet = { keys: [] };
  try {
    jwks = JSON.parse(await readFile(file, 'utf8')) as JSONWebKeySet;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new RevgateError('ERR_USAGE', `${file}: exists but is not a readable JWKS; fix or remove it`);
    }
  }
  if (!Array.isArray(jwks.keys)) throw new RevgateError('ERR_USAGE', `${file}: has no "keys" array`);
  if (jwks.keys.some((key) => key.kid === publicJwk.kid)) throw new RevgateError('ERR_USAGE', `${file}: already holds a key with kid ${publicJwk.kid}`);
  jwks.keys.push(publicJwk);
  await writeFile(file, `${JSON.stringify(jwks, null, 2)}\n`);
}
