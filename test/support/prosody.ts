// A real Prosody (Debian's package) for the federation tests: `prosody` in the foreground with its
// own configuration, data directory, certificate and ports on loopback (no systemd).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface Prosody {
  domain: string;
  c2sPort: number;
  s2sPort: number;
  dir: string;
  register(user: string, password: string): void;
  stop(): Promise<void>;
  /** Starts it again after stop(), with the same configuration and data. */
  start(): Promise<void>;
  log(): string;
}

/** Whether Debian's prosody is installed (scripts/test.sh installs it when run as root). */
export function prosodyAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v prosody && command -v prosodyctl'], { stdio: 'ignore' }).status === 0;
}

export async function selfSignedFiles(dir: string, domain: string): Promise<{ key: string; cert: string }> {
  const generated = await generate([{ name: 'commonName', value: domain }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: /^[\d.]+$/.test(domain) ? [{ type: 7, ip: domain }] : [{ type: 2, value: domain }] }],
  });
  const key = join(dir, `${domain}.key`);
  const cert = join(dir, `${domain}.crt`);
  writeFileSync(key, generated.private, { mode: 0o600 });
  writeFileSync(cert, generated.cert);
  return { key, cert };
}

/** Certificates from a test CA (test-ca.ts) instead of a self-signed one, and a direct TLS s2s port. */
export interface ProsodyOptions {
  files?: { key: string; cert: string };
  /** PEM file of the authorities Prosody trusts (besides the system's). */
  cafile?: string;
  /** XEP-0368 s2s port (`s2s_direct_tls_ports`). */
  s2sDirectTlsPort?: number;
  /** A MUC component (mod_muc) on this domain. */
  muc?: string;
  /** mod_pep on the virtual host. */
  pep?: boolean;
  /**
   * Where Prosody reaches these domains (it has no static routes of its own and resolves only
   * IP-literal domains without DNS): test-routes.lua, a plugin written beside the configuration.
   */
  routes?: Record<string, { host: string; port: number }>;
  /** `false`: no TLS between servers at all (`s2s_allow_encryption = false`), neither offered nor used. Default true. */
  s2sEncryption?: boolean;
}

/** Replaces net.resolvers.service for the routed domains; mod_s2s looks `new` up at each connection. */
const ROUTES_PLUGIN = `local service = require "net.resolvers.service";
local basic = require "net.resolvers.basic";
local manual = require "net.resolvers.manual";
local routes = module:get_option("test_s2s_routes", {});
local original = service.new;
function service.new(hostname, srv, conn_type, extra)
	local route = routes[hostname];
	if not route then return original(hostname, srv, conn_type, extra); end
	if srv ~= "xmpp-server" then return manual.new({}, conn_type, extra); end
	return basic.new(route[1], route[2], conn_type, extra);
end
`;

function configText(dir: string, domain: string, c2sPort: number, s2sPort: number, files: { key: string; cert: string }, options: ProsodyOptions): string {
  const routes = Object.entries(options.routes ?? {}).map(([name, { host, port }]) => `["${name}"] = { "${host}", ${port} }`);
  const modules = ['roster', 'saslauth', 'tls', 'dialback', 'disco', 'ping', 'version', 'presence', 'message', 'iq', 'offline', 'smacks', ...(options.pep ? ['pep'] : []), ...(routes.length > 0 ? ['test_routes'] : [])];
  return `-- Written by test/support/prosody.ts for one test run.
daemonize = false
run_as_root = true
pidfile = "${dir}/prosody.pid"
data_path = "${dir}/data"
interfaces = { "127.0.0.1" }
c2s_ports = { ${c2sPort} }
c2s_direct_tls_ports = { }
s2s_ports = { ${s2sPort} }
s2s_direct_tls_ports = { ${options.s2sDirectTlsPort ?? ''} }
http_ports = { }
https_ports = { }
admin_socket = "${dir}/admin.sock"
log = { { levels = { min = "debug" }, to = "file", filename = "${dir}/prosody.log" } }
modules_enabled = { ${modules.map((name) => `"${name}"`).join(', ')} }
plugin_paths = { "${dir}/plugins" }
test_s2s_routes = { ${routes.join(', ')} }
modules_disabled = { "posix" }
authentication = "internal_plain"
storage = "internal"
c2s_require_encryption = true
s2s_require_encryption = ${options.s2sEncryption !== false}
s2s_allow_encryption = ${options.s2sEncryption !== false}
s2s_secure_auth = false
certificates = "${dir}/certs"
ssl = { key = "${files.key}", certificate = "${files.cert}"${options.cafile ? `, cafile = "${options.cafile}"` : ''} }
VirtualHost "${domain}"
${options.muc ? `Component "${options.muc}" "muc"\n` : ''}`;
}

export async function startProsody(scratch: string, domain: string, c2sPort: number, s2sPort: number, options: ProsodyOptions = {}): Promise<Prosody> {
  const dir = join(scratch, 'prosody');
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'certs'), { recursive: true });
  mkdirSync(join(dir, 'plugins'), { recursive: true });
  writeFileSync(join(dir, 'plugins', 'mod_test_routes.lua'), ROUTES_PLUGIN);
  const files = options.files ?? (await selfSignedFiles(join(dir, 'certs'), domain));
  const config = join(dir, 'prosody.cfg.lua');
  writeFileSync(config, configText(dir, domain, c2sPort, s2sPort, files, options));
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('prosody', ['--config', config, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`prosody exited: ${output}\n${tail(join(dir, 'prosody.log'))}`);
      if (await answers(c2sPort)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`prosody did not start: ${output}`);
  };
  await start();
  return {
    domain,
    c2sPort,
    s2sPort,
    dir,
    register(user, password) {
      const result = spawnSync('prosodyctl', ['--config', config, 'register', user, domain, password], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`prosodyctl register failed: ${result.stdout}${result.stderr}`);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    start,
    log: () => tail(join(dir, 'prosody.log')),
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-60).join('\n');
  } catch {
    return '';
  }
}

async function answers(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
