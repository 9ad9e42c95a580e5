// Loopback helpers of the local cluster and the tests that start servers: free ports, whether a
// port answers, a required command, and polling until something holds.
import { spawnSync } from 'node:child_process';
import { createServer, connect as netConnect, type Server } from 'node:net';

export function requireCommand(command: string, debianPackage: string): void {
  if (spawnSync('sh', ['-c', `command -v ${command}`]).status === 0) return;
  throw new Error(`${command} is missing: install it (Debian: apt-get install ${debianPackage})`);
}

/** The ports asked for; each 0 is replaced by a distinct free loopback port. */
export async function ports(...wanted: number[]): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const found: number[] = [];
    for (const port of wanted) {
      if (port !== 0) {
        found.push(port);
        continue;
      }
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const address = server.address();
      if (typeof address !== 'object' || !address) throw new Error('no free port');
      found.push(address.port);
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
