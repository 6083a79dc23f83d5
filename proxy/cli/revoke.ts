/**
 * `revgate revoke`: sign a revocation event with a responder key and publish it until JetStream
 * acknowledges it. The command exits 0 only after the ack, and otherwise prints that the
 * revocation was NOT stored.
 */
import { createHash, randomUUID } from 'node:crypto';

import { Command, Option } from 'commander';
import { decodeJwt } from 'jose';

import { RevgateError } from '../errors.js';
import { signRevocationEvent, type RevocationTarget } from '../revocation/event.js';
import { publishUntilAcknowledged } from '../revocation/publisher.js';
import { loadSigningKey } from '../revocation/responder-keys.js';
import { subjectFor } from '../revocation/stream.js';
import { addNatsOptions, natsSettingsFromFlags, parseDurationFlag, parseTime, readTokenArgument, streamOption, type NatsFlags } from './common.js';

interface PublishOptions extends NatsFlags {
  stream: string;
  signingKey: string;
  reason: string;
  actor?: string;
  timeout: string;
  json?: boolean;
}

/** Revocations may not reach into the future beyond this skew, in seconds. */
const FUTURE_SKEW_SECONDS = 60;

export function revokeCommand(): Command {
  const revoke = new Command('revoke').description('publish a signed revocation and wait until JetStream stores it');

  withPublishOptions(
    revoke
      .command('token')
      .description('revoke one token; reads iss, jti and exp from it without verifying it')
      .argument('<jwt>', 'the token, or - to read it from standard input'),
  ).action(async (argument: string, options: PublishOptions) => {
    await publish(targetFromToken(await readTokenArgument(argument)), options);
  });

  withPublishOptions(
    revoke
      .command('jti')
      .description('revoke one token by issuer and JWT ID')
      .requiredOption('--issuer <iss>', 'issuer of the token, exactly as its iss claim')
      .option('--expires-at <time>', "the token's exp, so that proxies can drop the entry then (default: revocation time plus the issuer's maximum token lifetime)")
      .argument('<jti>', 'the JWT ID'),
  ).action(async (jti: string, options: PublishOptions & { issuer: string; expiresAt?: string }) => {
    const expiresAt = options.expiresAt === undefined ? undefined : parseTime(options.expiresAt, '--expires-at');
    const target = { kind: 'token' as const, iss: requireText(options.issuer, '--issuer'), jti: requireText(jti, 'jti') };
    await publish({ ...target, ...(expiresAt === undefined ? {} : { expiresAt }) }, options);
  });

  withPublishOptions(
    revoke
      .command('subject')
      .description('revoke every token of a subject issued at or before a time')
      .requiredOption('--issuer <iss>', 'issuer of the tokens, exactly as their iss claim')
      .option('--before <time>', 'reject tokens whose iat is at or before this time: now, Unix seconds or ISO 8601', 'now')
      .argument('<sub>', 'the subject, exactly as the sub claim'),
  ).action(async (sub: string, options: PublishOptions & { issuer: string; before: string }) => {
    const before = parseTime(options.before, '--before');
    if (before > Date.now() / 1000 + FUTURE_SKEW_SECONDS) {
      throw new RevgateError('ERR_USAGE', `--before "${options.before}": is in the future; a revocation covers tokens already issued`);
    }
    await publish({ kind: 'subject', iss: requireText(options.issuer, '--issuer'), sub: requireText(sub, 'sub'), before }, options);
  });

  revoke.addHelpText(
    'after',
    `
Examples:
  revgate revoke token --signing-key alice.private.jwk.json --reason "laptop stolen" eyJhbGciOi...
  echo "$TOKEN" | revgate revoke token - --signing-key alice.private.jwk.json --reason "leaked in CI log"
  revgate revoke jti --issuer https://idp.example.test --reason "session hijack" 7f9c2ba4
  revgate revoke subject --issuer https://idp.example.test --before now --reason "offboarded" user-1234

Exit codes: 0 stored (JetStream acknowledged), 1 NOT stored, 2 invalid command line or key.`,
  );
  return revoke;
}

/** Rejects an empty issuer or value, which could never match a token. */
function requireText(value: string, name: string): string {
  if (value.trim() === '') throw new RevgateError('ERR_USAGE', `${name}: must not be empty`);
  return value;
}

function withPublishOptions(command: Command): Command {
  return addNatsOptions(command)
    .addOption(streamOption())
    .addOption(new Option('--signing-key <file>', 'private JWK file of the responder key').env('REVGATE_SIGNING_KEY').makeOptionMandatory())
    .requiredOption('--reason <text>', 'why the revocation is made; recorded in the event for the audit trail')
    .option('--actor <name>', 'who makes the revocation, recorded next to the signing key id')
    .option('--timeout <duration>', 'how long to retry until JetStream acknowledges', '30s')
    .option('--json', 'print the result as one JSON object');
}

/** Builds the target from an unverified token: by jti when it has one, else by the hash of its signing input. */
function targetFromToken(token: string): RevocationTarget {
  let claims;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new RevgateError('ERR_USAGE', 'token: cannot be decoded as a JWT');
  }
  if (typeof claims.iss !== 'string' || claims.iss === '') throw new RevgateError('ERR_USAGE', 'token: has no iss claim, so no proxy could match it');
  const expiresAt = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? { expiresAt: claims.exp } : {};
  if (typeof claims.jti === 'string' && claims.jti !== '') return { kind: 'token', iss: claims.iss, jti: claims.jti, ...expiresAt };

  const signingInput = token.slice(0, token.lastIndexOf('.'));
  return { kind: 'token', iss: claims.iss, sha256: createHash('sha256').update(signingInput).digest('base64url'), ...expiresAt };
}

function describeTarget(target: RevocationTarget): string {
  if (target.kind === 'subject') return `subject of ${target.iss} issued at or before ${new Date(target.before * 1000).toISOString()}`;
  if ('jti' in target) return `token ${target.iss} jti ${target.jti}`;
  return `token ${target.iss} without jti (signing input sha256 ${target.sha256})`;
}

async function publish(target: RevocationTarget, options: PublishOptions): Promise<void> {
  const nats = natsSettingsFromFlags(options);
  const timeout = parseDurationFlag(options.timeout, '--timeout');
  const signingKey = await loadSigningKey(options.signingKey);
  const id = randomUUID();
  const payload = await signRevocationEvent({ id, target, reason: options.reason, actor: options.actor }, signingKey);

  process.stderr.write(`publishing revocation ${id}: ${describeTarget(target)}\n`);
  const ack = await publishUntilAcknowledged({
    nats,
    stream: options.stream,
    subject: subjectFor(options.stream, target),
    payload,
    messageId: id,
    timeout,
    onRetry: (attempt, error, wait) => {
      process.stderr.write(`attempt ${attempt} failed: ${error}; retrying in ${Math.round(wait)}ms\n`);
    },
  });

  if (options.json) {
    process.stdout.write(`${JSON.stringify({ stored: true, revocationId: id, kind: target.kind, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate })}\n`);
  } else {
    process.stdout.write(`stored: revocation ${id} at ${ack.stream} sequence ${ack.seq}${ack.duplicate ? ' (duplicate of an earlier attempt)' : ''}\n`);
  }
}
