/**
 * `revgate serve`: run the proxy until SIGTERM or SIGINT. The first of those signals shuts down
 * gracefully (readiness off, drain, close NATS) and exits 0; a second one exits 1 at once. SIGHUP
 * reloads the config file.
 */
import { Command, Option } from 'commander';

import { loadConfig } from '../config/load.js';
import { componentLogger, createLogger, type Logger } from '../observability/logger.js';
import { startGateway, type Gateway } from '../server/gateway.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the proxy')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .addOption(new Option('--log-level <level>', 'override the config log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addHelpText('after', '\nExample:\n  revgate serve --config revgate.yaml')
    .action(async (options: { config: string; logLevel?: string }) => {
      const loaded = await loadConfig(options.config);
      const logger = createLogger((options.logLevel ?? loaded.config.logLevel) as 'info');
      const lifecycle = componentLogger(logger, 'lifecycle', 'info');
      // SIGHUP would otherwise end the process while it starts.
      const ignoreHangup = () => lifecycle.warn('SIGHUP ignored: the proxy is still starting; send it again once "revgate started" is logged');
      process.on('SIGHUP', ignoreHangup);
      const gateway = await startGateway(loaded, { logger });
      process.off('SIGHUP', ignoreHangup);
      handleSignals(gateway, logger, lifecycle);
    });
}

function handleSignals(gateway: Gateway, root: Logger, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second stop signal; exiting at once without finishing the drain');
      root.flush(() => process.exit(1));
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stop signal received');
    gateway.close().then(
      () => root.flush(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: String(error) }, 'error while stopping');
        root.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (stopping) {
      logger.warn('SIGHUP ignored: the proxy is shutting down');
      return;
    }
    void gateway.reload('SIGHUP');
  });
}
