/** `revgate stream init`: create the revocation stream, or update its limits. */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Command, Option } from 'commander';

import { loadConfig } from '../config/load.js';
import { formatDuration } from '../config/duration.js';
import { RevgateError, describeError } from '../errors.js';
import { natsConnectionOptions } from '../revocation/nats-connection.js';
import { DEFAULT_MAX_MESSAGES, ensureStreams, streamSubjects } from '../revocation/stream.js';
import { addNatsOptions, natsSettingsFromFlags, parseDurationFlag, streamOption, type NatsFlags } from './common.js';

/** Message age limit used when neither --config nor --max-age gives the token lifetime. */
const FALLBACK_MAX_AGE = '24h';

interface InitOptions extends NatsFlags {
  json?: boolean;
  config?: string;
  stream: string;
  maxAge?: string;
  replicas: string;
  maxMessages: string;
  timeout: string;
}

export function streamCommand(): Command {
  const stream = new Command('stream').description('manage the revocation stream');
  addNatsOptions(
    stream
      .command('init')
      .description('create the revocation stream, or update its limits when it exists')
      .option('-c, --config <file>', 'take NATS servers, stream name and message age from this proxy config'),
  )
    .addOption(streamOption())
    .option('--max-age <duration>', `how long messages are kept; at least the largest maxTokenLifetime plus clockTolerance (default: from --config, else ${FALLBACK_MAX_AGE})`)
    .addOption(new Option('--replicas <n>', 'stream replicas; 3 on a three-node cluster').default('1'))
    .option('--max-messages <n>', 'messages the stream may hold; when full, new revocations are rejected', String(DEFAULT_MAX_MESSAGES))
    .option('--timeout <duration>', 'how long to wait for NATS', '10s')
    .option('--json', 'print one JSON object per stream')
    .addHelpText('after', '\nExamples:\n  revgate stream init --config revgate.yaml\n  revgate stream init --nats nats://127.0.0.1:4222 --max-age 2h')
    .action(async (options: InitOptions, command: Command) => {
      const settings = await resolveSettings(options, command);
      const timeout = parseDurationFlag(options.timeout, '--timeout');
      let connection;
      try {
        connection = await connect({ ...(await natsConnectionOptions(settings.nats)), timeout });
      } catch (error) {
        throw new RevgateError('ERR_NATS_UNAVAILABLE', `cannot connect to NATS at ${settings.nats.servers.join(', ')}: ${describeError(error)}`);
      }
      try {
        const manager = await jetstreamManager(connection, { timeout });
        const results = await ensureStreams(manager, settings.stream, {
          maxAge: settings.maxAge,
          replicas: settings.replicas,
          maxMessages: settings.maxMessages,
        });
        for (const { info, created } of results) {
          if (options.json) {
            const limits = { maxAgeSeconds: info.config.max_age / 1e9, maxMessages: info.config.max_msgs, replicas: info.config.num_replicas };
            process.stdout.write(`${JSON.stringify({ stream: info.config.name, created, ...limits, messages: info.state.messages })}\n`);
            continue;
          }
          const age = info.config.max_age === 0 ? 'no age limit (revocations until lifted)' : `max age ${formatDuration(settings.maxAge)}`;
          process.stdout.write(
            `${created ? 'created' : 'updated'} stream ${info.config.name}: subjects ${streamSubjects(info.config.name)}, ` +
              `${age}, max ${settings.maxMessages} messages, replicas ${info.config.num_replicas}, ` +
              `${info.state.messages} message(s)\n`,
          );
        }
      } catch (error) {
        throw error instanceof RevgateError ? error : new RevgateError('ERR_NATS_UNAVAILABLE', `stream ${settings.stream}: ${describeError(error)}`);
      } finally {
        await connection.close();
      }
    });
  return stream;
}

async function resolveSettings(options: InitOptions, command: Command) {
  const replicas = Number(options.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new RevgateError('ERR_USAGE', `--replicas "${options.replicas}": must be an integer from 1 to 5`);
  const maxMessages = Number(options.maxMessages);
  if (!Number.isInteger(maxMessages) || maxMessages < 1) throw new RevgateError('ERR_USAGE', `--max-messages "${options.maxMessages}": must be a positive integer`);

  if (options.config === undefined) {
    const maxAge = parseDurationFlag(options.maxAge ?? FALLBACK_MAX_AGE, '--max-age');
    return { nats: natsSettingsFromFlags(options), stream: options.stream, maxAge, replicas, maxMessages };
  }

  const { config } = await loadConfig(options.config);
  const longest = Math.max(...config.issuers.map((issuer) => issuer.maxTokenLifetime + issuer.clockTolerance));
  const maxAge = options.maxAge === undefined ? longest : parseDurationFlag(options.maxAge, '--max-age');
  if (maxAge < longest) {
    throw new RevgateError('ERR_USAGE', `--max-age ${options.maxAge}: shorter than the longest token lifetime plus clock tolerance (${formatDuration(longest)}); revocations would be dropped while tokens they match are still valid`);
  }
  // Flags given explicitly win over the config file.
  const explicit = (name: string) => command.getOptionValueSource(name) === 'cli';
  return {
    nats: explicit('nats') ? natsSettingsFromFlags(options) : { ...config.revocation.nats, name: 'revgate-cli' },
    stream: explicit('stream') ? options.stream : config.revocation.stream,
    maxAge,
    replicas,
    maxMessages,
  };
}
