// One Rookery node as a real process (`node bin/rookery.js start`) on the embedded store in a
// given data directory, and the `rookery` command run against it, for the durability tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ports } from '../../tools/local-cluster.js';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'rookery.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface NodeProcess {
  env: Record<string, string>;
  c2sPort: number;
  /** kill -9: no shutdown code runs. */
  kill9(): Promise<void>;
  /** SIGTERM, as a deployment stops it. */
  stop(): Promise<void>;
}

/** The environment of a node on `dataDir`: free loopback ports, no Redis, nothing from the runner's own ROOKERY_*. */
export async function nodeEnv(dataDir: string): Promise<Record<string, string>> {
  const [c2s, c2sTls, http] = await ports(0, 0, 0);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('ROOKERY_') && value !== undefined) env[key] = value;
  return {
    ...env,
    ROOKERY_DATA_DIR: dataDir,
    ROOKERY_BIND_ADDRESS: '127.0.0.1',
    ROOKERY_C2S_PORT: String(c2s),
    ROOKERY_C2S_TLS_PORT: String(c2sTls),
    ROOKERY_S2S_PORT: process.env.ROOKERY_S2S_PORT ?? '0', // no federation: nodes on one machine would contend for 5269
    ROOKERY_HTTP_PORT: String(http),
    ROOKERY_NODE_ID: 'durable-test',
    ROOKERY_LOG_LEVEL: 'info',
  };
}

/** Runs `rookery <args>` to its end. */
export function rookery(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a node and resolves once its HTTP listener is up (the last step of startNode). */
export async function startNodeProcess(dataDir: string): Promise<NodeProcess> {
  const env = await nodeEnv(dataDir);
  const child = spawn(process.execPath, [ENTRY, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await listening(child);
  return {
    env,
    c2sPort: Number(env.ROOKERY_C2S_PORT),
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function listening(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('"event":"http_listening"')) {
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve();
      }
    };
    const onExit = (code: number | null): void => reject(new Error(`the node exited (${code}) before listening:\n${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', onExit);
  });
}
