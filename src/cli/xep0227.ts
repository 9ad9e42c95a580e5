// `rookery import FILE…` and `rookery export DIR` (XEP-0227, src/xep0227/).
//
// With ROOKERY_REDIS_URL they work on Redis directly, as the account commands do (with the same
// deployment and domain check), while nodes run. With the embedded store they open the data
// directory themselves: its database is locked by a running node, so the node must be stopped
// first (a running node makes them fail with "data directory … is in use"). That is simpler than
// streaming whole exports through the admin API, and an import is a migration step anyway.
import type { Command } from 'commander';
import { type Config, mucDomainsOf } from '../config.js';
import type { StateBackend } from '../state/backend.js';
import { DEFAULT_MAX_FILE_BYTES } from '../xep0227/defaults.js';

export interface CliContext {
  config(): Config;
  domainGiven(): boolean;
  /** The composition root's openState (src/main.ts), loaded only when a command runs. */
  openState(config: Config, options: { domainGiven: boolean }): Promise<{ state: StateBackend; domain: string }>;
}

/** A counter on stderr when it is a terminal, at most ten times a second; nothing otherwise. */
function counter(label: string): { update(done: number, total?: number): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (!tty || (now - last < 100 && done !== total)) return;
      last = now;
      shown = true;
      process.stderr.write(`\r${label} ${done}${total === undefined ? '' : `/${total}`}`);
    },
    end() {
      if (shown) process.stderr.write('\n');
    },
  };
}

async function withState<T>(context: CliContext, run: (state: StateBackend, domain: string) => Promise<T>): Promise<T> {
  const { state, domain } = await context.openState(context.config(), { domainGiven: context.domainGiven() });
  try {
    return await run(state, domain);
  } finally {
    await state.close();
  }
}

export function addXep0227Commands(program: Command, context: CliContext): void {
  program
    .command('import <files...>')
    .description('import accounts, rosters, offline messages, vCards, private XML, blocklists, PEP nodes and archives, and persistent group chat rooms with their vCards and archives, from XEP-0227 files (with the embedded store: the node must be stopped)')
    .option('--max-bytes <n>', 'largest file read, in bytes', String(DEFAULT_MAX_FILE_BYTES))
    .action(async (files: string[], options: { maxBytes: string }) => {
      const maxFileBytes = Number(options.maxBytes);
      if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 1) throw new Error('--max-bytes must be a positive integer');
      const cfg = context.config();
      // Loaded here: every other command would pay for the XML and SASL code (bench/cli-timing.ts).
      const [{ SCRAM_ITERATIONS }, { PieError }, { importAccounts, readImportData }, { importRooms }] = await Promise.all([
        import('../core/accounts.js'),
        import('../xep0227/account.js'),
        import('../xep0227/transfer.js'),
        import('../xep0227/room-transfer.js'),
      ]);
      const { report, rooms } = await withState(context, async (state, domain) => {
        const importOptions = { domain, limits: cfg.limits, iterations: SCRAM_ITERATIONS, maxFileBytes, mucDomains: mucDomainsOf({ domain, mucDomains: cfg.mucDomains }) };
        let data;
        try {
          data = readImportData(files, importOptions);
        } catch (error) {
          if (error instanceof PieError) {
            console.error(`rookery: import refused, nothing was written: ${error.where}: ${error.reason}`);
            process.exit(1);
          }
          throw error;
        }
        const progress = counter('imported');
        try {
          const accounts = await importAccounts(state, data.accounts, { ...importOptions, progress: (done, total) => progress.update(done, total) });
          return { report: accounts, rooms: await importRooms(state, data.rooms, cfg.limits) };
        } finally {
          progress.end();
        }
      });
      const some = (jids: string[]): string => `${jids.slice(0, 10).join(', ')}${jids.length > 10 ? ', …' : ''}`;
      console.log(`imported ${report.imported.length} accounts and ${rooms.imported.length} rooms`);
      if (report.existing.length > 0) console.log(`skipped ${report.existing.length} accounts that already exist: ${some(report.existing)}`);
      if (rooms.existing.length > 0) console.log(`skipped ${rooms.existing.length} rooms that already exist: ${some(rooms.existing)}`);
      for (const [element, users] of report.skippedElements) console.log(`not imported: ${element} (${users} accounts)`);
      for (const [element, count] of rooms.skippedElements) console.log(`not imported: ${element} (${count} rooms)`);
    });

  program
    .command('export <dir>')
    .description('export every account with its data, and every persistent group chat room with its vCard and archive, as XEP-0227 files into DIR (with the embedded store: the node must be stopped)')
    .action(async (dir: string) => {
      const { exportAccounts } = await import('../xep0227/transfer.js');
      const cfg = context.config();
      const result = await withState(context, async (state, domain) => {
        const progress = counter('exported');
        try {
          return await exportAccounts(state, dir, domain, (done) => progress.update(done), mucDomainsOf({ domain, mucDomains: cfg.mucDomains }));
        } finally {
          progress.end();
        }
      });
      console.log(`exported ${result.accounts} accounts and ${result.rooms} rooms to ${result.main} (and ${[result.host, ...result.roomHosts].join(', ')})`);
    });
}
