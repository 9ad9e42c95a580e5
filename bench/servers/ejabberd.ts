// ejabberd from the Debian package, run in the foreground (`ejabberdctl foreground`) as the
// ejabberd user with its own config, Mnesia spool and logs in a scratch directory (no systemd),
// shapers off, a large max_fsm_queue, STARTTLS optional.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, fchownSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandOutput, exitOf, findPids, packageVersion, portAnswers, sleep, spawnWithFileLimit, waitFor } from '../lib/proc.js';
import { scramSha1Credentials } from '../lib/sasl.js';
import type { LaunchContext, RunningServer } from './types.js';

export const EJABBERD_PORT = 25422;
const NODE = 'benchej@localhost';

function configText(dir: string, ctx: LaunchContext): string {
  const s2s = ctx.federation;
  return `# Written by bench/servers/ejabberd.ts for one benchmark run.
hosts:
  - "${ctx.domain}"
loglevel: warning
log_rotate_count: 0
certfiles:
  - "${dir}/cert.pem"
  - "${dir}/key.pem"
listen:
  -
    port: ${EJABBERD_PORT}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: none
    access: c2s
    starttls: true
    starttls_required: false
    max_fsm_queue: 1000000
    backlog: 511
${s2s ? `  -\n    port: 5269\n    ip: "${s2s.address}"\n    module: ejabberd_s2s_in\n    shaper: none\n    max_stanza_size: 262144\ns2s_use_starttls: required\ns2s_access: all\n` : ''}auth_method: internal
auth_password_format: scram
auth_scram_hash: sha
max_fsm_queue: 1000000
shaper: {}
shaper_rules:
  max_user_sessions: 10
  max_user_offline_messages: 5000
  c2s_shaper: none
  s2s_shaper: none
acl:
  local:
    user_regexp: ""
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  local:
    allow: local
  c2s:
    allow: all
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
# Feature set comparable to Rookery's default modules (PEP through mod_pubsub's pep plugin); no mod_mam, mod_muc, mod_register.
modules:
  mod_roster: {}
  mod_disco: {}
  mod_caps: {}
  mod_ping: {}
  mod_version: {}
  mod_carboncopy: {}
  mod_privacy: {}
  mod_blocking: {}
  mod_offline: {}
  mod_stream_mgmt: {}
  mod_admin_extra: {}
  mod_pubsub:
    plugins: [flat, pep]
${s2s ? '  mod_s2s_dialback: {}\n' : ''}`;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

export async function startEjabberd(ctx: LaunchContext): Promise<RunningServer> {
  const uid = Number(commandOutput('id', ['-u', 'ejabberd']));
  const gid = Number(commandOutput('id', ['-g', 'ejabberd']));
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('no ejabberd system user (install the ejabberd package)');
  const dir = join(ctx.dir, 'ejabberd');
  for (const sub of ['spool', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  copyFileSync(ctx.certFile, join(dir, 'cert.pem'));
  copyFileSync(ctx.keyFile, join(dir, 'key.pem'));
  writeFileSync(join(dir, 'ejabberd.yml'), configText(dir, ctx));
  // Read by ejabberdctl: its own file, so the package's /etc/ejabberd/ejabberdctl.cfg is not used.
  writeFileSync(join(dir, 'inetrc'), '{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n{file, resolv, "/etc/resolv.conf"}.\n');
  writeFileSync(join(dir, 'ejabberdctl.cfg'), 'ERL_MAX_PORTS=65536\nERL_PROCESSES=1000000\nINET_DIST_INTERFACE=127.0.0.1\n');
  chmodSync(ctx.dir, 0o755);
  chownTree(dir, uid, gid);
  const ctlArgs = ['--config-dir', dir, '--config', join(dir, 'ejabberd.yml'), '--ctl-config', join(dir, 'ejabberdctl.cfg'), '--spool', join(dir, 'spool'), '--logs', join(dir, 'logs'), '--node', NODE];
  const startedAt = Date.now();
  const env = { ...process.env, HOME: '/var/lib/ejabberd', USER: 'ejabberd', LOGNAME: 'ejabberd' };
  const outFd = openSync(join(dir, 'logs', 'foreground.out'), 'a');
  fchownSync(outFd, uid, gid);
  const child: ChildProcess = spawnWithFileLimit('ejabberdctl', [...ctlArgs, 'foreground'], { stdio: ['ignore', outFd, outFd], uid, gid, env, cwd: dir });
  let beam = 0;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`ejabberd exited (${child.exitCode}); see ${dir}/logs`);
        return portAnswers(EJABBERD_PORT);
      },
      90_000,
      'ejabberd',
    );
  } catch (error) {
    child.kill('SIGKILL');
    const stray = findPids((cmdline, comm) => comm.startsWith('beam') && cmdline.includes(NODE))[0];
    if (stray) process.kill(stray, 'SIGKILL');
    const logs = ['foreground.out', 'ejabberd.log', 'error.log'].map((name) => tail(join(dir, 'logs', name))).join('\n');
    throw new Error(`${(error as Error).message}; logs:\n${logs}`);
  }
  beam = findPids((cmdline, comm) => comm.startsWith('beam') && cmdline.includes(NODE))[0] ?? 0;
  if (!beam) throw new Error('ejabberd: no beam.smp process found');
  const ejabberdctl = (args: string[]): { status: number | null; out: string } => {
    const result = spawnSync('ejabberdctl', [...ctlArgs, ...args], { encoding: 'utf8', timeout: 60_000, uid, gid, env, cwd: dir });
    return { status: result.status, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
  };
  const otp = commandOutput('erl', ['-noshell', '-eval', 'io:format("~s",[erlang:system_info(otp_release)]), halt().']);
  return {
    kind: 'ejabberd',
    label: 'ejabberd',
    config: 'Mnesia',
    version: `${packageVersion('ejabberd')} (Debian), Erlang/OTP ${otp}`,
    targets: [{ host: '127.0.0.1', port: EJABBERD_PORT, domain: ctx.domain }],
    pids: () => [beam],
    startedAt,
    helperPids: () => [],
    notes: [
      'ejabberdctl foreground with --config-dir/--spool/--logs in a scratch directory, as the ejabberd user (no systemd)',
      'listener shaper: none, shaper_rules c2s_shaper: none, max_fsm_queue: 1000000, starttls: true, starttls_required: false, backlog: 511 (the default of 5 drops connection attempts under a login burst; 511 is what Node.js uses)',
      'auth_password_format: scram (SHA-1, 4096 iterations), Mnesia (the default database)',
      'modules: roster, disco, caps, ping, version, carboncopy, privacy, blocking, offline, stream_mgmt, admin_extra, pubsub (plugins flat, pep); no mam/muc',
      'accounts: ejabberdctl register (first account), the others with ejabberdctl import_piefxis (XEP-0227 file with precomputed SCRAM-SHA-1 keys)',
    ],
    async createAccounts(users, password) {
      if (users.length === 0) return;
      const first = ejabberdctl(['register', users[0]!, ctx.domain, password]);
      if (first.status !== 0 && !first.out.includes('already registered')) throw new Error(`ejabberdctl register: ${first.out}`);
      // The rest in bulk with ejabberd's XEP-0227 import and precomputed SCRAM-SHA-1 keys (one salt
      // for all): registering each through ejabberd runs its PBKDF2, ~15 ms per account here.
      const salt = randomBytes(16);
      const { storedKey, serverKey } = scramSha1Credentials(password, salt, 4096);
      // ejabberd keeps the keys and the salt base64-encoded, and its XEP-0227 export encodes them once
      // more (ejabberd_piefxis:format_scram_password/1), so the import expects base64 of base64.
      const twice = (bytes: Buffer): string => Buffer.from(bytes.toString('base64')).toString('base64');
      const credentials = `<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>4096</iter-count><salt>${twice(salt)}</salt><server-key>${twice(serverKey)}</server-key><stored-key>${twice(storedKey)}</stored-key></scram-credentials>`;
      const file = join(dir, `accounts-${Date.now()}.xml`);
      const body = users.slice(1).map((user) => `<user name='${user}'>${credentials}</user>`).join('\n');
      writeFileSync(file, `<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='urn:xmpp:pie:0'>\n<host jid='${ctx.domain}'>\n${body}\n</host>\n</server-data>\n`);
      chownSync(file, uid, gid);
      const imported = ejabberdctl(['import_piefxis', file]);
      if (imported.status !== 0) throw new Error(`ejabberdctl import_piefxis: ${imported.out}`);
    },
    async stop() {
      ejabberdctl(['stop']);
      if (!(await exitOf(child, 20_000))) {
        if (beam) process.kill(beam, 'SIGKILL');
        child.kill('SIGKILL');
      }
      await sleep(200);
    },
  };
}
