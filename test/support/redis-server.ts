// A throw-away redis-server for tests: free loopback port, no persistence, own temp directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ports } from '../../tools/local-ports.js';

export interface RedisServerHandle {
  url: string;
  port: number;
  /** SIGTERM, then SIGKILL if it has not exited after a few seconds. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: no shutdown, no save. Resolves once the process is gone. */
  kill(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PING_RETRY_MS = 25;

/** The redis-server executable: from PATH, else /usr/bin. */
function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function redisServerAvailable(): boolean {
  return findRedisServer() !== undefined;
}

/** `port`: that port (a restart in place); otherwise a free one. */
export async function startRedisServer(options: { args?: string[]; port?: number } = {}): Promise<RedisServerHandle> {
  const executable = findRedisServer();
  if (!executable) throw new Error('redis-server was not found on PATH or in /usr/bin');
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  // A port found free can be taken before redis-server binds it: then it exits and we try another.
  for (let attempt = 0; attempt < 3 && Date.now() < deadline; attempt++) {
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'rookery-redis-'));
    const child = spawn(
      executable,
      ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--dir', dir, ...(options.args ?? [])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (error) => { lastError = error; resolve(); });
    });
    const killOnExit = (): void => { child.kill('SIGKILL'); };
    process.once('exit', killOnExit);
    const stop = once(async () => {
      process.removeListener('exit', killOnExit);
      await terminate(child, exited);
      rmSync(dir, { recursive: true, force: true });
    });
    const kill = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await stop();
    };
    const up = await waitForPing(port, deadline, exited);
    if (up) return { url: `redis://127.0.0.1:${port}`, port, stop, kill };
    lastError ??= new Error(`redis-server did not answer PING on port ${port}: ${output.trim().split('\n').slice(-3).join(' | ')}`);
    await stop();
  }
  throw lastError instanceof Error ? lastError : new Error('redis-server did not start');
}

/** Polls with connection attempts until PING is answered; false on exit of the server or at the deadline. */
async function waitForPing(port: number, deadline: number, exited: Promise<void>): Promise<boolean> {
  let gone = false;
  void exited.then(() => { gone = true; });
  while (!gone && Date.now() < deadline) {
    if (await ping(port, Math.max(1, deadline - Date.now()))) return true;
    // Wait before the next attempt, but no longer than it takes the server to exit.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, PING_RETRY_MS))]);
  }
  return false;
}

function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), Math.min(timeoutMs, 1_000));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS); }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function freePort(): Promise<number> {
  const [port] = await ports(0);
  return port as number;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}
