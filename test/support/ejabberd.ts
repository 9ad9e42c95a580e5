// A real ejabberd (Debian's package) for the XEP-0227 interoperability test, started as
// bench/servers/ejabberd.ts does: `ejabberdctl foreground` as the ejabberd user, with its own
// configuration, Mnesia spool and logs in a scratch directory (no systemd), on loopback.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, openSync, fchownSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandOutput, exitOf, findPids, portAnswers, spawnWithFileLimit, waitFor } from '../../bench/lib/proc.js';

export interface Ejabberd {
  dir: string;
  /** Runs one ejabberdctl command as the ejabberd user; throws with its output when it fails. */
  ctl(...args: string[]): string;
  stop(): Promise<void>;
}

/** Whether Debian's ejabberd is installed (scripts/test.sh installs it when run as root). */
export function ejabberdAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v ejabberdctl && id -u ejabberd'], { stdio: 'ignore' }).status === 0;
}

/** Federation (test/s2s/): an s2s listener, STARTTLS with this PEM (key and certificate), dialback. */
export interface EjabberdS2S {
  port: number;
  pem: string;
  /** PEM file of the authorities peers' certificates are verified against (SASL EXTERNAL, XEP-0178). */
  cafile?: string;
}

function configText(domain: string, port: number, s2s?: EjabberdS2S): string {
  return `# Written by test/support/ejabberd.ts for one test run.
hosts:
  - "${domain}"
loglevel: ${s2s ? 'info' : 'warning'}
log_rotate_count: 0
${s2s ? `certfiles:\n  - "${s2s.pem}"\ns2s_use_starttls: required\ns2s_access: all\n${s2s.cafile ? `s2s_cafile: "${s2s.cafile}"\n` : ''}` : ''}listen:
  -
    port: ${port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: ${s2s ? 'true' : 'false'}
${s2s ? `  -\n    port: ${s2s.port}\n    ip: "127.0.0.1"\n    module: ejabberd_s2s_in\n` : ''}auth_method: internal
auth_password_format: scram
auth_scram_hash: sha
acl:
  local:
    user_regexp: ""
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
modules:
  mod_roster: {}
  mod_offline: {}
  mod_vcard: {}
  mod_private: {}
  mod_blocking: {}
  mod_privacy: {}
  mod_admin_extra: {}
${s2s ? '  mod_s2s_dialback: {}\n  mod_disco: {}\n  mod_ping: {}\n  mod_version: {}\n' : ''}`;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

/** Starts ejabberd serving `domain` with its files in `scratch` (which must be world-traversable). */
export async function startEjabberd(scratch: string, domain: string, port: number, s2s?: (dir: string) => Promise<EjabberdS2S>): Promise<Ejabberd> {
  const uid = Number(commandOutput('id', ['-u', 'ejabberd']));
  const gid = Number(commandOutput('id', ['-g', 'ejabberd']));
  const dir = join(scratch, 'ejabberd');
  const node = `rkimport${process.pid}@localhost`;
  for (const sub of ['spool', 'logs', 'export']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'ejabberd.yml'), configText(domain, port, s2s ? await s2s(dir) : undefined));
  writeFileSync(join(dir, 'inetrc'), '{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n{file, resolv, "/etc/resolv.conf"}.\n');
  writeFileSync(join(dir, 'ejabberdctl.cfg'), 'INET_DIST_INTERFACE=127.0.0.1\n');
  chmodSync(scratch, 0o755);
  chownTree(dir, uid, gid);
  const ctlArgs = ['--config-dir', dir, '--config', join(dir, 'ejabberd.yml'), '--ctl-config', join(dir, 'ejabberdctl.cfg'), '--spool', join(dir, 'spool'), '--logs', join(dir, 'logs'), '--node', node];
  const env = { ...process.env, HOME: '/var/lib/ejabberd', USER: 'ejabberd', LOGNAME: 'ejabberd' };
  const out = openSync(join(dir, 'logs', 'foreground.out'), 'a');
  fchownSync(out, uid, gid);
  const child: ChildProcess = spawnWithFileLimit('ejabberdctl', [...ctlArgs, 'foreground'], { stdio: ['ignore', out, out], uid, gid, env, cwd: dir });
  const beam = (): number | undefined => findPids((cmdline, comm) => comm.startsWith('beam') && cmdline.includes(node))[0];
  const kill = (): void => {
    child.kill('SIGKILL');
    const pid = beam();
    if (pid) process.kill(pid, 'SIGKILL');
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`ejabberd exited (${child.exitCode})`);
      return portAnswers(port);
    }, 90_000, 'ejabberd');
  } catch (error) {
    kill();
    const logs = ['foreground.out', 'ejabberd.log', 'error.log'].map((name) => tail(join(dir, 'logs', name))).join('\n');
    throw new Error(`${(error as Error).message}; logs:\n${logs}`);
  }
  return {
    dir,
    ctl(...args) {
      const result = spawnSync('ejabberdctl', [...ctlArgs, ...args], { encoding: 'utf8', timeout: 60_000, uid, gid, env, cwd: dir });
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
      if (result.status !== 0) throw new Error(`ejabberdctl ${args.join(' ')}: exit ${result.status}: ${output}`);
      return output;
    },
    async stop() {
      spawnSync('ejabberdctl', [...ctlArgs, 'stop'], { timeout: 30_000, uid, gid, env, cwd: dir });
      if (!(await exitOf(child, 20_000))) kill();
    },
  };
}
