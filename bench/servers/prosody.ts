// Prosody from the Debian package, run in the foreground with its own config, data and log in a
// scratch directory (no systemd), rate limits off, plaintext PLAIN allowed for the PLAIN workload.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitOf, packageVersion, portAnswers, spawnWithFileLimit, waitFor } from '../lib/proc.js';
import { scramSha1Credentials } from '../lib/sasl.js';
import type { LaunchContext, RunningServer } from './types.js';

export const PROSODY_PORT = 25322;

function configText(dir: string, ctx: LaunchContext): string {
  const s2s = ctx.federation;
  return `-- Written by bench/servers/prosody.ts for one benchmark run.
pidfile = "${dir}/prosody.pid"
data_path = "${dir}/data"
run_as_root = true
admin_socket = "${dir}/prosody.sock"
log = { { levels = { min = "warn" }, to = "file", filename = "${dir}/prosody.log" } }
certificates = "${dir}"
-- Feature set comparable to Rookery's default modules. Not loaded: limits (rate limits),
-- mam, register, s2s.
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "version"; "carbons"; "blocklist"; "smacks"; "pep"; "admin_shell"${s2s ? '; "dialback"' : ''} }
modules_disabled = { ${s2s ? '' : '"s2s"'} }
authentication = "internal_hashed"
default_iteration_count = 4096
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
limits = { }
-- The listen backlog Node.js uses (Prosody's default is 128).
network_settings = { tcp_backlog = 511 }
c2s_ports = { ${PROSODY_PORT} }
c2s_interfaces = { "127.0.0.1" }
c2s_direct_tls_ports = { }
s2s_ports = { ${s2s ? 5269 : ''} }
${s2s ? `s2s_interfaces = { "${s2s.address}" }\ns2s_require_encryption = true\ns2s_secure_auth = false\n` : ''}
http_ports = { }
https_ports = { }
ssl = { certificate = "${ctx.certFile}"; key = "${ctx.keyFile}"; }
VirtualHost "${ctx.domain}"
`;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

export async function startProsody(ctx: LaunchContext): Promise<RunningServer> {
  const dir = join(ctx.dir, 'prosody');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = join(dir, 'prosody.cfg.lua');
  writeFileSync(config, configText(dir, ctx));
  const startedAt = Date.now();
  const logFd = openSync(join(dir, 'stdout.log'), 'a');
  const child: ChildProcess = spawnWithFileLimit('prosody', ['-F', '--config', config], { stdio: ['ignore', logFd, logFd] });
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`prosody exited (${child.exitCode})`);
        return portAnswers(PROSODY_PORT);
      },
      90_000,
      'prosody',
    );
  } catch (error) {
    child.kill('SIGKILL');
    const logs = ['prosody.log', 'stdout.log'].map((name) => tail(join(dir, name))).join('\n');
    throw new Error(`${(error as Error).message}; logs:\n${logs}`);
  }
  const prosodyctl = (args: string[], input?: string): { status: number | null; out: string } => {
    const result = spawnSync('prosodyctl', ['--config', config, ...args], { input, encoding: 'utf8', timeout: 120_000 });
    return { status: result.status, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
  };
  return {
    kind: 'prosody',
    label: 'Prosody',
    config: 'internal storage',
    version: `${packageVersion('prosody')} (Debian), Lua ${packageVersion('lua5.4')}, network backend epoll`,
    targets: [{ host: '127.0.0.1', port: PROSODY_PORT, domain: ctx.domain }],
    pids: () => (child.pid ? [child.pid] : []),
    startedAt,
    helperPids: () => [],
    notes: [
      'prosody -F --config <tmp>/prosody.cfg.lua (own data_path, no systemd)',
      'mod_limits not loaded (no c2s rate limit), c2s_require_encryption = false, allow_unencrypted_plain_auth = true, network_settings.tcp_backlog = 511 (as Node.js)',
      'modules: roster, saslauth, tls, disco, ping, version, carbons, blocklist, smacks, pep (+ the always-loaded presence, message, iq, offline)',
      'authentication = internal_hashed with default_iteration_count = 4096, storage = internal (files)',
      'accounts: prosodyctl register (first account), the others through prosodyctl shell (storagemanager accounts store, SCRAM-SHA-1 keys computed once)',
      'presence workload: the mutual subscriptions are written into the roster store through prosodyctl shell (over XMPP, setting up 1000 takes Prosody more than a minute)',
    ],
    async createAccounts(users, password) {
      if (users.length === 0) return;
      const first = users[0]!;
      const registered = prosodyctl(['register', first, ctx.domain, password]);
      if (registered.status !== 0) throw new Error(`prosodyctl register: ${registered.out}`);
      // The rest in bulk through the admin shell, as the record mod_auth_internal_hashed stores, with
      // one salt for all (create_user would run PBKDF2 for each, ~3 ms apiece).
      const salt = `bench-${randomBytes(8).toString('hex')}`;
      const { storedKey, serverKey } = scramSha1Credentials(password, Buffer.from(salt), 4096);
      const record = `{ stored_key = "${storedKey.toString('hex')}", server_key = "${serverKey.toString('hex')}", salt = "${salt}", iteration_count = 4096 }`;
      for (let i = 1; i < users.length; i += 1000) {
        const names = users.slice(i, i + 1000).map((user) => `"${user}"`).join(',');
        const line = `> local store = require"core.storagemanager".open("${ctx.domain}", "accounts"); local n = 0; for _, name in ipairs({${names}}) do assert(store:set(name, ${record})) n = n + 1 end return "created " .. n\n`;
        const result = prosodyctl(['shell'], line);
        if (!result.out.includes('created ')) throw new Error(`prosodyctl shell: ${result.out.slice(-500)}`);
      }
    },
    // Establishing 1000 subscriptions over XMPP takes Prosody over a minute here (every change
    // rewrites the hub's whole roster file), so the rosters are written as mod_roster stores them.
    async createRosters(hub, contacts) {
      const host = ctx.domain;
      const names = contacts.map((contact) => `"${contact}"`).join(',');
      const line = `> local store = require"core.storagemanager".open("${host}", "roster"); local hubRoster = { [false] = { version = 1, pending = {} } }; local n = 0; for _, name in ipairs({${names}}) do hubRoster[name .. "@${host}"] = { subscription = "both", groups = {} }; assert(store:set(name, { [false] = { version = 1, pending = {} }, ["${hub}@${host}"] = { subscription = "both", groups = {} } })) n = n + 1 end assert(store:set("${hub}", hubRoster)) return "rosters " .. n\n`;
      const result = prosodyctl(['shell'], line);
      if (!result.out.includes('rosters ')) throw new Error(`prosodyctl shell (rosters): ${result.out.slice(-500)}`);
    },
    async stop() {
      child.kill('SIGTERM');
      if (!(await exitOf(child, 10_000))) child.kill('SIGKILL');
    },
  };
}
