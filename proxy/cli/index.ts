/**
 * The command-line program: one subcommand group per file, errors turned into messages and exit
 * codes in one place.
 */
import { Command, CommanderError } from 'commander';

import { RevgateError, describeError } from '../errors.js';
import { VERSION } from '../version.js';
import { EXIT } from './common.js';
import { configCommand } from './config.js';
import { keysCommand } from './keys.js';
import { explainCommand } from './explain.js';
import { liftCommand } from './lift.js';
import { revocationsCommand } from './revocations.js';
import { revokeCommand } from './revoke.js';
import { serveCommand } from './serve.js';
import { statusCommand } from './status.js';
import { streamCommand } from './stream.js';

export function buildProgram(): Command {
  const program = new Command('revgate')
    .enablePositionalOptions()
    .description('Reverse proxy that verifies bearer JWTs and enforces revocations replicated from NATS JetStream')
    .version(VERSION)
    .addCommand(serveCommand())
    .addCommand(statusCommand())
    .addCommand(revokeCommand())
    .addCommand(liftCommand())
    .addCommand(revocationsCommand())
    .addCommand(explainCommand())
    .addCommand(streamCommand())
    .addCommand(keysCommand())
    .addCommand(configCommand())
    .addHelpText(
      'after',
      `
Examples:
  revgate config check revgate.yaml
  revgate stream init --config revgate.yaml
  revgate keys generate --kid alice --out keys --jwks keys/responders.jwks.json
  revgate serve --config revgate.yaml
  revgate revoke token --signing-key keys/alice.private.jwk.json --reason "token leaked" eyJhbGciOi...`,
    );
  exitOverrideEverywhere(program);
  return program;
}

function exitOverrideEverywhere(command: Command): void {
  command.exitOverride();
  for (const child of command.commands) exitOverrideEverywhere(child);
}

/** Runs the program and returns the exit code; `serve` keeps running after this resolves. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its own message; help and version are successful exits.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof RevgateError) {
    const prefix = error.code === 'ERR_NOT_STORED' ? 'revocation NOT stored' : 'error';
    process.stderr.write(`${prefix}: ${error.message}\n`);
    for (const detail of error.details) process.stderr.write(`  ${detail}\n`);
    return error.code === 'ERR_USAGE' || error.code === 'ERR_KEY_INVALID' ? EXIT.usage : EXIT.failed;
  }
  process.stderr.write(`error: ${describeError(error)}\n`);
  return EXIT.failed;
}
