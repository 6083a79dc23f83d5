/** `revgate config check`: validate a config file and the key files it names, reporting every problem. */
import { Command } from 'commander';

import { IssuerRegistry } from '../auth/issuers.js';
import { loadConfig } from '../config/load.js';
import { RevgateError, describeError } from '../errors.js';
import { loadResponderKeys } from '../revocation/responder-keys.js';

export function configCommand(): Command {
  const config = new Command('config').description('work with config files');
  config
    .command('check')
    .description('validate a config file and the key files it names; print every problem and exit 1 if there is one')
    .argument('<file>', 'config file (YAML or JSON)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', '\nExample:\n  revgate config check revgate.yaml')
    .action(async (file: string, options: { json?: boolean }) => {
      const { config: loaded, source } = await loadConfig(file);
      const problems: string[] = [];
      try {
        await IssuerRegistry.load(loaded.issuers);
      } catch (error) {
        problems.push(...(error instanceof RevgateError ? error.details : [describeError(error)]));
      }
      try {
        await loadResponderKeys(loaded.revocation);
      } catch (error) {
        problems.push(`revocation responder keys: ${describeError(error)}`);
      }
      if (problems.length > 0) throw new RevgateError('ERR_CONFIG_INVALID', `config file ${source}: ${problems.length} problem(s)`, problems);

      if (options.json) {
        const summary = { ok: true, source, issuers: loaded.issuers.length, routes: loaded.routes.length, upstream: loaded.upstream.url, stream: loaded.revocation.stream };
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      process.stdout.write(
        `config OK: ${source}\n  ${loaded.issuers.length} issuer(s), ${loaded.routes.length} route(s), ` +
          `upstream ${loaded.upstream.url}, stream ${loaded.revocation.stream}\n`,
      );
    });
  return config;
}
