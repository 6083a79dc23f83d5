/** `revgate revocations list`: the active revocations of a running proxy, as a table or JSON. */
import { Command, Option } from 'commander';

import { RevgateError } from '../errors.js';
import { REVOCATION_KINDS } from '../revocation/target.js';
import { adminOption, requestAdmin } from './admin-client.js';

interface Page {
  items: Record<string, unknown>[];
  next: string | null;
}

export function revocationsCommand(): Command {
  const revocations = new Command('revocations').description('inspect the revocations a proxy enforces');
  revocations
    .command('list')
    .description('list active revocations, oldest id first')
    .addOption(new Option('--kind <kind>', 'only this kind').choices(REVOCATION_KINDS))
    .addOption(adminOption())
    .option('--json', 'print one JSON object per revocation')
    .addHelpText('after', '\nExamples:\n  revgate revocations list\n  revgate revocations list --kind key --json')
    .action(async (options: { kind?: string; admin: string; json?: boolean }) => {
      let after = '';
      let count = 0;
      if (!options.json) process.stdout.write('ID                                    KIND     ISSUED AT                 EXPIRES                   ACTOR / KEY           REASON\n');
      for (;;) {
        const query = new URLSearchParams({ limit: '1000', ...(after ? { after } : {}), ...(options.kind ? { kind: options.kind } : {}) });
        const { status, body } = await requestAdmin(options.admin, `/revocations?${query}`);
        if (status !== 200) throw new RevgateError('ERR_NATS_UNAVAILABLE', `admin API responded with status ${status}: ${JSON.stringify(body)}`);
        const page = body as Page;
        for (const item of page.items) {
          count++;
          process.stdout.write(options.json ? `${JSON.stringify(item)}\n` : `${formatRow(item)}\n`);
        }
        if (!page.next) break;
        after = page.next;
      }
      if (!options.json) process.stderr.write(`${count} active revocation(s)\n`);
    });
  return revocations;
}

function formatRow(item: Record<string, unknown>): string {
  const actor = `${String(item['actor'] ?? '-')} / ${String(item['signedBy'])}`;
  return [
    String(item['id']).padEnd(37),
    String(item['kind']).padEnd(8),
    String(item['issuedAt']).padEnd(25),
    String(item['expiresAt'] ?? 'until lifted').padEnd(25),
    actor.padEnd(21),
    String(item['reason']),
  ].join(' ');
}
