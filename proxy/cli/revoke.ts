/**
 * `revgate revoke`: sign a revocation with a responder key and publish it until JetStream
 * acknowledges it, one per command or many from a JSON Lines file (`--file`). A command exits 0
 * only after the ack, and otherwise prints that the revocation was NOT stored.
 */
import { Command } from 'commander';

import { RevgateError } from '../errors.js';
import { revokeFromFile, withBulkOptions, type BulkOptions } from './bulk.js';
import { readTokenArgument } from './common.js';
import { publishEvent, withPublishOptions, type PublishOptions } from './publish.js';
import { revocationRequestSchema, targetOf, type RevocationRequest } from './revocation-request.js';

const TIME_HELP = 'now, Unix seconds or ISO 8601 with a zone';

export function revokeCommand(): Command {
  const revoke = withBulkOptions(
    new Command('revoke')
      // Options after a kind belong to the kind; without this, --signing-key would go to the bulk form.
      .enablePositionalOptions()
      .description('publish a signed revocation and wait until JetStream stores it')
      .option('--file <file>', 'revoke every request of a JSON Lines file (one object per line, as in config/revocation-request.schema.json)'),
  ).action(async (options: BulkOptions & { file?: string }, command: Command) => {
    if (options.file === undefined) command.help({ error: true });
    await revokeFromFile(options.file, options);
  });

  addKind(revoke.command('token').description('revoke one token; reads iss, jti and exp from it without verifying it').argument('<jwt>', 'the token, or - to read it from standard input'), async (jwt: string) => ({ kind: 'token', token: await readTokenArgument(jwt) }));

  addKind(
    revoke.command('jti').description('revoke one token by issuer and JWT ID').requiredOption('--issuer <iss>', 'issuer, exactly as the iss claim').option('--expires-at <time>', `the token's exp, so that proxies drop the entry then (${TIME_HELP})`).argument('<jti>', 'the JWT ID'),
    async (jti: string, options: { issuer: string; expiresAt?: string }) => ({ kind: 'jti', issuer: options.issuer, jti, expiresAt: options.expiresAt }),
  );

  for (const [kind, argument, claim] of [
    ['subject', '<sub>', 'sub claim'],
    ['session', '<sid>', 'sid claim'],
    ['client', '<client-id>', 'client_id claim (azp when client_id is absent)'],
  ] as const) {
    addKind(
      revoke
        .command(kind)
        .description(`revoke every token of a ${kind} issued at or before a time, or until lifted`)
        .requiredOption('--issuer <iss>', 'issuer, exactly as the iss claim')
        .option('--before <time>', `reject tokens whose iat is at or before this time (${TIME_HELP}; default now)`)
        .option('--until-lifted', 'reject every token of it, also those issued later, until "revgate lift"')
        .argument(argument, `the value of the ${claim}`),
      async (value: string, options: { issuer: string; before?: string; untilLifted?: boolean }) => {
        const common = { issuer: options.issuer, before: options.before, untilLifted: options.untilLifted };
        if (kind === 'subject') return { kind, sub: value, ...common };
        if (kind === 'session') return { kind, sid: value, ...common };
        return { kind, clientId: value, ...common };
      },
    );
  }

  addKind(
    revoke.command('key').description('reject every token signed with a key (iss, kid) until the revocation is lifted').requiredOption('--issuer <iss>', 'issuer, exactly as the iss claim').argument('<kid>', 'the kid header of the compromised key'),
    async (kid: string, options: { issuer: string }) => ({ kind: 'key', issuer: options.issuer, kid }),
  );

  addKind(
    revoke.command('issuer').description('reject every token of an issuer issued at or before a time').option('--before <time>', `(${TIME_HELP}; default now)`).argument('<iss>', 'issuer, exactly as the iss claim'),
    async (iss: string, options: { before?: string }) => ({ kind: 'issuer', issuer: iss, before: options.before }),
  );

  addKind(
    revoke
      .command('version')
      .description('reject tokens of a subject whose version claim (revocation.versionClaim, default "ver") is below N, until lifted or superseded')
      .requiredOption('--issuer <iss>', 'issuer, exactly as the iss claim')
      .requiredOption('--min-version <n>', 'lowest token version still accepted')
      .argument('<sub>', 'the subject, exactly as the sub claim'),
    async (sub: string, options: { issuer: string; minVersion: string }) => ({ kind: 'version', issuer: options.issuer, sub, minVersion: Number(options.minVersion) }),
  );

  revoke.addHelpText(
    'after',
    `
Examples:
  echo "$TOKEN" | revgate revoke token - --signing-key alice.private.jwk.json --reason "leaked in CI log"
  revgate revoke jti --issuer https://idp.example.test --reason "session hijack" 7f9c2ba4
  revgate revoke subject --issuer https://idp.example.test --reason "offboarded" user-1234
  revgate revoke client --issuer https://idp.example.test --until-lifted --reason "CI secret leaked" ci-deployer
  revgate revoke key --issuer https://idp.example.test --reason "signing key leaked" 2026-11-key
  revgate revoke --file incident-42.jsonl --signing-key alice.private.jwk.json --reason "incident 42"

Exit codes: 0 stored (JetStream acknowledged), 1 NOT stored, 2 invalid command line, key or input.`,
  );
  return revoke;
}

type RequestBuilder<A extends unknown[]> = (...args: A) => Promise<Record<string, unknown>>;

/** Adds the publish options to a kind's subcommand and runs: request, validation, target, publish. */
function addKind<A extends unknown[]>(command: Command, build: RequestBuilder<A>): void {
  withPublishOptions(command).action(async (...args: unknown[]) => {
    const options = args.at(-2) as PublishOptions & Record<string, unknown>;
    const raw = await build(...(args.slice(0, -1) as A));
    const request = parseRequest(Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)));
    await publishEvent({ target: targetOf(request) }, options);
  });
}

function parseRequest(raw: Record<string, unknown>): RevocationRequest {
  const result = revocationRequestSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`);
  throw new RevgateError('ERR_USAGE', `invalid revocation: ${problems.join('; ')}`);
}
