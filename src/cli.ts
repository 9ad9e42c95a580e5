// The `rookery` command: start a node, manage accounts, list sessions, check the configuration.
// With ROOKERY_REDIS_URL the account commands talk to Redis directly; without it, to the running
// node's admin API. Exit codes: 0 done, 1 a run-time failure, 2 a configuration error.
import { Command, Option } from 'commander';
import { AdminClient } from './admin/client.js';
import { type Config, loadConfig, maskedConfig, renderConfig } from './config.js';
import { describeFailure, EXIT_FAILURE } from './cli/failures.js';
import { readPassword } from './cli/password.js';
import { addXep0227Commands } from './cli/xep0227.js';
import type { Logger } from './log.js';
import type { StateBackend } from './state/backend.js';
import { VERSION } from './version.js';

/** The account service (SASL credentials, JIDs): loaded only with Redis; the admin API does it otherwise. */
const accounts = () => import('./core/accounts.js');

// `rookery user list | head -1`: the reader went away, which is no error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command('rookery')
  .description('Rookery, a clustered XMPP server')
  .version(VERSION, '-V, --version', 'print the version')
  .option('-c, --config <file>', 'YAML configuration file (or ROOKERY_CONFIG)');

/** The configuration once loaded, so that a later failure can name the setting to change. */
let loaded: Config | undefined;
/** The settings that were given rather than defaulted. */
const given = new Set<string>();

function config(): Config {
  const file = program.opts<{ config?: string }>().config;
  loaded = loadConfig(file ? { file, given } : { given });
  return loaded;
}

/** Runs an account operation against Redis, or the running node when the store is embedded. */
async function withAccounts<T>(
  viaState: (state: StateBackend, domain: string) => Promise<T>,
  viaAdmin: (client: AdminClient, cfg: Config) => Promise<T>,
): Promise<T> {
  const cfg = config();
  if (cfg.redisUrl === undefined) return viaAdmin(new AdminClient(cfg), cfg);
  const { openState } = await import('./main.js');
  const { state, domain } = await openState(cfg, { domainGiven: given.has('domain') });
  try {
    return await viaState(state, domain);
  } finally {
    await state.close();
  }
}

program
  .command('start')
  .description('start a node')
  .action(async () => {
    const cfg = config();
    // Loaded here, as the server is below: the account commands need neither pino nor the guards.
    const [{ createLogger }, { installProcessGuards }] = await Promise.all([import('./log.js'), import('./process-guard.js')]);
    const log: Logger = createLogger({ level: cfg.logLevel, node: cfg.nodeId });
    log.info({ event: 'starting', version: VERSION, config: maskedConfig(cfg) }, `rookery ${VERSION} starting`);
    // Loaded here: the whole server is not needed to print a version or check the configuration.
    const { startNode } = await import('./main.js');
    const node = await startNode(cfg, log).catch((error: unknown) => {
      const failure = describeFailure(error, cfg);
      // One JSON line for the log collector (with the stack when the failure is a bug), one for the person.
      log.fatal({ event: 'start_failed', code: failure?.code ?? 'ROOKERY_START_FAILED', ...(failure ? {} : { err: error }) }, failure?.message ?? 'cannot start');
      console.error(`rookery: cannot start: ${failure?.message ?? (error instanceof Error ? error.message : String(error))}`);
      process.exit(failure?.exitCode ?? EXIT_FAILURE);
    });
    // What escapes every handler is logged and counted; the node ends only when it must (process-guard.ts).
    installProcessGuards({ log, telemetry: node.telemetry, shutDown: () => node.drain().then(() => node.stop()) });
    const stop = (signal: string): void => {
      log.info({ event: 'stopping', signal });
      // SIGTERM is how Kubernetes ends a pod: hand the clients over first (bounded by the drain timeout).
      const handOver = signal === 'SIGTERM' ? node.drain() : Promise.resolve();
      void handOver
        .then(() => node.stop())
        .then(
          () => {
            log.info({ event: 'stopped', signal });
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ event: 'stop_failed', err });
            process.exit(EXIT_FAILURE);
          },
        );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

program
  .command('check-config')
  .description('validate the configuration and print the effective settings, secrets masked')
  .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
  .action((options: { format: 'yaml' | 'json' }) => {
    process.stdout.write(renderConfig(config(), options.format));
  });

const user = program.command('user').description('manage accounts');

user
  .command('add <jid> [password]')
  .description("create an account (without a password: asked for, or read from stdin; '-': read from stdin)")
  .action(async (jid: string, password: string | undefined) => {
    const secret = await readPassword(password);
    const created = await withAccounts(
      async (state, domain) => {
        const { accountJid, createAccount } = await accounts();
        const bare = accountJid(jid, domain);
        await createAccount(state, bare, secret);
        return bare;
      },
      (client) => client.addUser(jid, secret),
    );
    console.log(`created ${created}`);
  });

user
  .command('passwd <jid> [password]')
  .description("change an account's password (without one: asked for, or read from stdin; '-': read from stdin)")
  .action(async (jid: string, password: string | undefined) => {
    const secret = await readPassword(password);
    const changed = await withAccounts(
      async (state, domain) => {
        const { accountJid, changePassword } = await accounts();
        const bare = accountJid(jid, domain);
        await changePassword(state, bare, secret);
        return bare;
      },
      (client) => client.changePassword(jid, secret),
    );
    console.log(`password changed for ${changed}`);
  });

user
  .command('del <jid>')
  .description('delete an account and everything stored for it')
  .action(async (jid: string) => {
    const deleted = await withAccounts(
      async (state, domain) => {
        const { accountJid, deleteAccount } = await accounts();
        const bare = accountJid(jid, domain);
        await deleteAccount(state, bare);
        return bare;
      },
      (client) => client.deleteUser(jid),
    );
    console.log(`deleted ${deleted}`);
  });

user
  .command('list')
  .description('list accounts')
  .action(async () => {
    const users = await withAccounts(
      async (state) => {
        const all: string[] = [];
        for await (const bare of state.accounts.list()) all.push(bare);
        return all.sort();
      },
      (client) => client.listUsers(),
    );
    for (const bare of users) console.log(bare);
  });

program
  .command('sessions')
  .description('list connected resources and the node that holds each')
  .action(async () => {
    const sessions = await withAccounts(
      async (state) => {
        const all = [];
        for await (const record of state.registry.all()) all.push({ jid: record.full_jid, node: record.node, priority: record.priority, available: record.presence !== undefined, interested: record.interested });
        return all;
      },
      (client) => client.sessions(),
    );
    for (const session of sessions.sort((a, b) => a.jid.localeCompare(b.jid))) {
      console.log(`${session.jid}\t${session.node}\t${session.available ? 'available' : 'connected'}\tpriority=${session.priority}`);
    }
  });

addXep0227Commands(program, {
  config,
  domainGiven: () => given.has('domain'),
  openState: async (cfg, options) => (await import('./main.js')).openState(cfg, options),
});

program.parseAsync(process.argv).catch((error: unknown) => {
  const failure = describeFailure(error, loaded);
  if (failure) console.error(`rookery: ${failure.message}`);
  else console.error(error);
  process.exit(failure?.exitCode ?? EXIT_FAILURE);
});
