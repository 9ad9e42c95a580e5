// The `rookery` command: start a node, manage accounts, list sessions. With ROOKERY_REDIS_URL
// the account commands talk to Redis directly; without it, to the running node's admin API.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { accountJid, AdminError, changePassword, createAccount, deleteAccount } from './admin/accounts.js';
import { AdminClient } from './admin/client.js';
import { type Config, loadConfig } from './config.js';
import { RookeryError } from './errors.js';
import { createLogger } from './log.js';
import { openState, startNode } from './main.js';

const program = new Command('rookery').description('Rookery, a clustered XMPP server').option('-c, --config <file>', 'YAML configuration file (or ROOKERY_CONFIG)');

function config(): Config {
  const file = program.opts<{ config?: string }>().config;
  return loadConfig(file ? { file } : {});
}

function readPassword(argument: string): string {
  if (argument !== '-') return argument;
  return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
}

/** Runs an account operation against Redis, or the running node when the store is embedded. */
async function withAccounts<T>(
  viaState: (state: Awaited<ReturnType<typeof openState>>, cfg: Config) => Promise<T>,
  viaAdmin: (client: AdminClient, cfg: Config) => Promise<T>,
): Promise<T> {
  const cfg = config();
  if (cfg.redisUrl === undefined) return viaAdmin(new AdminClient(cfg), cfg);
  const state = await openState(cfg);
  try {
    return await viaState(state, cfg);
  } finally {
    await state.close();
  }
}

program
  .command('start')
  .description('start a node')
  .action(async () => {
    const cfg = config();
    const log = createLogger({ level: cfg.logLevel, node: cfg.nodeId });
    const node = await startNode(cfg, log);
    const stop = (signal: string): void => {
      log.info({ event: 'stopping', signal });
      // SIGTERM is how Kubernetes ends a pod: hand the clients over first (bounded by the drain timeout).
      const handOver = signal === 'SIGTERM' ? node.drain() : Promise.resolve();
      void handOver
        .then(() => node.stop())
        .then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ event: 'stop_failed', err });
            process.exit(1);
          },
        );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

const user = program.command('user').description('manage accounts');

user
  .command('add <jid> <password>')
  .description("create an account ('-' reads the password from stdin)")
  .action(async (jid: string, password: string) => {
    const secret = readPassword(password);
    const created = await withAccounts(
      async (state, cfg) => {
        const bare = accountJid(jid, cfg.domain);
        await createAccount(state, bare, secret);
        return bare;
      },
      (client) => client.addUser(jid, secret),
    );
    console.log(`created ${created}`);
  });

user
  .command('passwd <jid> <password>')
  .description("change an account's password ('-' reads it from stdin)")
  .action(async (jid: string, password: string) => {
    const secret = readPassword(password);
    const changed = await withAccounts(
      async (state, cfg) => {
        const bare = accountJid(jid, cfg.domain);
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
      async (state, cfg) => {
        const bare = accountJid(jid, cfg.domain);
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
        for await (const record of state.sessions.all()) all.push({ jid: record.full_jid, node: record.node, priority: record.priority, available: record.presence !== undefined, interested: record.interested });
        return all;
      },
      (client) => client.sessions(),
    );
    for (const session of sessions.sort((a, b) => a.jid.localeCompare(b.jid))) {
      console.log(`${session.jid}\t${session.node}\t${session.available ? 'available' : 'connected'}\tpriority=${session.priority}`);
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof AdminError || error instanceof RookeryError) {
    console.error(`rookery: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
