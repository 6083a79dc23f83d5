/**
 * `revgate serve`: run the proxy until SIGTERM or SIGINT. The first signal closes the listeners,
 * lets in-flight requests finish and closes NATS; a second signal exits at once.
 */
import { Command, Option } from 'commander';

import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { startGateway } from '../server/gateway.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the proxy')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .addOption(new Option('--log-level <level>', 'override the config log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addHelpText('after', '\nExample:\n  revgate serve --config revgate.yaml')
    .action(async (options: { config: string; logLevel?: string }) => {
      const loaded = await loadConfig(options.config);
      const logger = createLogger((options.logLevel ?? loaded.config.logLevel) as 'info');
      const gateway = await startGateway(loaded, { logger });

      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          logger.warn({ signal }, 'second signal; exiting at once');
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, 'stopping: draining in-flight requests');
        gateway.close().then(
          () => {
            logger.flush();
            process.exit(0);
          },
          (error: unknown) => {
            logger.error({ err: String(error) }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
