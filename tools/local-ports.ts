// Loopback helpers of the local cluster and the tests that start servers: free ports, whether a
// port answers, a required command, and polling until something holds.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';

export function requireCommand(command: string, debianPackage: string): void {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status === 0) return;
  throw new Error(`${command} is missing: install it (Debian: apt-get install ${debianPackage})`);
}

/**
 * Below the kernel's ephemeral range: a node restarted on its port must find it free, and a port
 * from that range may meanwhile be the local end of any outgoing connection on the machine.
 */
function freeRange(): { low: number; high: number } {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // Not Linux: the usual default.
  }
  return { low: 10_000, high: Math.max(10_001, ephemeralLow - 1) };
}

function listenOn(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
}

/** The ports asked for; each 0 is replaced by a distinct free loopback port outside the ephemeral range. */
export async function ports(...wanted: number[]): Promise<number[]> {
  const servers: Server[] = [];
  const { low, high } = freeRange();
  try {
    const found: number[] = [];
    for (const port of wanted) {
      if (port !== 0) {
        found.push(port);
        continue;
      }
      for (let attempt = 0; ; attempt++) {
        if (attempt === 200) throw new Error(`no free port between ${low} and ${high}`);
        const candidate = low + Math.floor(Math.random() * (high - low));
        if (found.includes(candidate)) continue;
        const server = createServer();
        if (!(await listenOn(server, candidate))) continue;
        servers.push(server);
        found.push(candidate);
        break;
      }
    }
    return found;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

export async function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Polls `check` every 50 ms until it holds; throws once `timeoutMs` has passed. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}
