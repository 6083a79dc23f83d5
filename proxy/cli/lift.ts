/**
 * `revgate lift <revocation-id>`: remove a revocation, typically one that lasts until lifted. The
 * command reads the revocation from a proxy's admin API to learn its target, then publishes a lift
 * to the same NATS subject, which replaces the revocation in the stream. Proxies apply a lift only
 * when its key is listed in `revocation.liftResponders`.
 */
import { Command } from 'commander';

import { RevgateError } from '../errors.js';
import type { RevocationTarget } from '../revocation/target.js';
import { adminOption, requestAdmin } from './admin-client.js';
import { publishEvent, withPublishOptions, type PublishOptions } from './publish.js';

export function liftCommand(): Command {
  return withPublishOptions(
    new Command('lift')
      .description('publish a signed lift that removes a revocation (the key must be trusted for lifts)')
      .argument('<revocation-id>', 'id of the revocation, as printed by revoke and listed by "revgate revocations list"')
      .addOption(adminOption()),
  )
    .addHelpText('after', '\nExample:\n  revgate lift 6f1c3a52-5b0e-4f55-9d1e-2b7f0f3f9a10 --signing-key lead.private.jwk.json --reason "key rotated, incident closed"')
    .action(async (revocationId: string, options: PublishOptions & { admin: string }) => {
      const { status, body } = await requestAdmin(options.admin, `/revocations/${encodeURIComponent(revocationId)}`);
      if (status === 404) throw new RevgateError('ERR_USAGE', `revocation ${revocationId}: not found on ${options.admin}; check the id with "revgate revocations list"`);
      const target = (body as { target?: RevocationTarget }).target;
      if (status !== 200 || !target) throw new RevgateError('ERR_NATS_UNAVAILABLE', `admin API responded with status ${status} for revocation ${revocationId}`);
      await publishEvent({ target, lift: { revocationId } }, options);
      process.stderr.write('proxies apply the lift only if the signing key is listed in their revocation.liftResponders\n');
    });
}
