/**
 * Publishing one signed event from the command line: sign it, print it instead with `--dry-run`,
 * or publish it until JetStream acknowledges it, then report the result as text or JSON.
 */
import { randomUUID } from 'node:crypto';

import { Command, Option } from 'commander';
import { decodeJwt } from 'jose';

import { signLiftEvent, signRevocationEvent, type SigningKey } from '../revocation/event.js';
import { publishUntilAcknowledged } from '../revocation/publisher.js';
import { loadSigningKey } from '../revocation/responder-keys.js';
import { streamFor, subjectFor } from '../revocation/stream.js';
import { describeTarget, type RevocationTarget } from '../revocation/target.js';
import { addNatsOptions, natsSettingsFromFlags, parseDurationFlag, streamOption, type NatsFlags } from './common.js';

export interface PublishOptions extends NatsFlags {
  stream: string;
  signingKey: string;
  reason: string;
  actor?: string;
  timeout: string;
  json?: boolean;
  dryRun?: boolean;
}

/** Adds the options every publishing command takes. */
export function withPublishOptions(command: Command): Command {
  return addNatsOptions(command)
    .addOption(streamOption())
    .addOption(new Option('--signing-key <file>', 'private JWK file of the responder key').env('REVGATE_SIGNING_KEY').makeOptionMandatory())
    .requiredOption('--reason <text>', 'why the revocation is made; recorded in the event for the audit trail')
    .addOption(new Option('--actor <name>', 'who makes the revocation, recorded next to the signing key id').env('REVGATE_ACTOR'))
    .option('--timeout <duration>', 'how long to retry until JetStream acknowledges', '30s')
    .option('--dry-run', 'print the signed event and its subject instead of publishing it')
    .option('--json', 'print the result as one JSON object');
}

export type EventSpec = { target: RevocationTarget } & ({ lift?: undefined } | { lift: { revocationId: string } });

/** Signs and publishes one revocation or lift; resolves once JetStream stored it (or after a dry run). */
export async function publishEvent(spec: EventSpec, options: PublishOptions): Promise<void> {
  const nats = natsSettingsFromFlags(options);
  const timeout = parseDurationFlag(options.timeout, '--timeout');
  const signingKey = await loadSigningKey(options.signingKey);
  const id = randomUUID();
  const payload = await sign(spec, id, options, signingKey);
  const subject = subjectFor(options.stream, spec.target, id);
  const action = spec.lift ? `lift of revocation ${spec.lift.revocationId}` : `revocation ${id}`;

  if (options.dryRun) {
    const document = { dryRun: true, id, subject, action, event: decodeJwt(payload) };
    process.stdout.write(options.json ? `${JSON.stringify(document)}\n` : `dry run: not published\n${JSON.stringify(document, null, 2)}\n`);
    return;
  }

  process.stderr.write(`publishing ${action}: ${describeTarget(spec.target)}\n`);
  const ack = await publishUntilAcknowledged({
    nats,
    stream: streamFor(options.stream, spec.target),
    subject,
    payload,
    messageId: id,
    timeout,
    onRetry: (attempt, error, wait) => process.stderr.write(`attempt ${attempt} failed: ${error}; retrying in ${Math.round(wait)}ms\n`),
  });

  if (options.json) {
    process.stdout.write(`${JSON.stringify({ stored: true, id, kind: spec.target.kind, lift: spec.lift?.revocationId, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate })}\n`);
  } else {
    const what = spec.lift ? `lift ${id} of revocation ${spec.lift.revocationId}` : `revocation ${id}`;
    process.stdout.write(`stored: ${what} at ${ack.stream} sequence ${ack.seq}${ack.duplicate ? ' (duplicate of an earlier attempt)' : ''}\n`);
  }
}

function sign(spec: EventSpec, id: string, options: PublishOptions, signingKey: SigningKey): Promise<string> {
  const draft = { id, reason: options.reason, actor: options.actor };
  return spec.lift
    ? signLiftEvent({ ...draft, revocationId: spec.lift.revocationId }, signingKey)
    : signRevocationEvent({ ...draft, target: spec.target }, signingKey);
}
