// Wall-clock time of two things an operator waits for, with the compiled build (dist/):
//  - `rookery start` until /readyz answers 200 (one node, embedded store, a certificate given);
//  - `rookery user list` against that running node (embedded store: through its admin API).
// Each is run --runs times (default 10) and reported as the median (and min, max). Targets:
// start ≤ 1 s, user list ≤ 0.3 s. The CPU time (user + system) beside each is less sensitive to
// the machine's load. dist/ is built first when it is stale. Usage:
//   node --import tsx bench/cli-timing.ts [--runs 10] [--accounts 20] [--json]
//   node --import tsx bench/cli-timing.ts --profile DIR   # also writes a --cpu-prof of each command
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generate } from 'selfsigned';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'rookery.js');
const TARGET_START_S = 1;
const TARGET_LIST_S = 0.3;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    accounts: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const ACCOUNTS = Number(values.accounts);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/readyz', timeout: 500 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

interface Node {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

function startNode(env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Node {
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, output: () => output };
}

const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a running process has used so far, from /proc. */
function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Spawn to the first 200 from /readyz, polled every 5 ms; with the CPU time the node used until then. */
async function timeStart(env: NodeJS.ProcessEnv, httpPort: number, nodeArgs: string[] = []): Promise<{ seconds: number; cpu: number; node: Node }> {
  const began = process.hrtime.bigint();
  const node = startNode(env, nodeArgs);
  let gone = false;
  void node.exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`the node exited during start-up:\n${node.output()}`);
    if (await readyz(httpPort)) return { seconds: Number(process.hrtime.bigint() - began) / 1e9, cpu: cpuOf(node.child.pid), node };
    if (Number(process.hrtime.bigint() - began) / 1e9 > 60) throw new Error(`not ready after 60 s:\n${node.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function stop(node: Node): Promise<void> {
  node.child.kill('SIGINT');
  await node.exited;
}

/** Spawn to exit of `rookery <args>`, with its CPU time (GNU time); throws unless it exits 0. */
function timeCommand(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<{ seconds: number; cpu: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const began = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, ...nodeArgs, BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - began) / 1e9;
      const [user, system] = /CPU ([\d.]+) ([\d.]+)/.exec(stderr)?.slice(1).map(Number) ?? [Number.NaN, Number.NaN];
      if (code === 0) resolve({ seconds, cpu: (user as number) + (system as number), stdout });
      else reject(new Error(`rookery ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

const median = (list: number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const stats = (list: number[]) => ({ median: median(list), min: Math.min(...list), max: Math.max(...list), runs: list });
const fmt = (seconds: number): string => `${seconds.toFixed(3)} s`;

async function main(): Promise<void> {
  // bin/rookery.js runs dist/ only when it is up to date (the sources through tsx otherwise).
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
  const load = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'rookery-cli-timing-'));
  const tls = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
  writeFileSync(join(dir, 'cert.pem'), tls.cert);
  writeFileSync(join(dir, 'key.pem'), tls.private);
  const [c2s, c2sTls, http] = [await freePort(), await freePort(), await freePort()];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ROOKERY_')));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    ROOKERY_DATA_DIR: join(dir, 'data'),
    ROOKERY_NODE_ID: 'bench',
    ROOKERY_BIND_ADDRESS: '127.0.0.1',
    ROOKERY_C2S_PORT: String(c2s),
    ROOKERY_C2S_TLS_PORT: String(c2sTls),
    ROOKERY_S2S_PORT: process.env.ROOKERY_S2S_PORT ?? '0', // no federation: nodes on one machine would contend for 5269
    ROOKERY_HTTP_PORT: String(http),
    ROOKERY_TLS_CERT: join(dir, 'cert.pem'),
    ROOKERY_TLS_KEY: join(dir, 'key.pem'),
    ROOKERY_LOG_LEVEL: 'warn',
  };
  const profileArgs = (name: string): string[] => {
    if (values.profile === undefined) return [];
    mkdirSync(values.profile, { recursive: true });
    return ['--cpu-prof', '--cpu-prof-dir', values.profile, '--cpu-prof-name', `${name}.cpuprofile`];
  };
  try {
    // The first start creates the data directory, the store and the admin token: not counted.
    const first = await timeStart(env, http);
    for (let i = 0; i < ACCOUNTS; i++) await timeCommand(['user', 'add', `user${i}@localhost`, `password-${i}`], env);
    await stop(first.node);

    const starts: number[] = [];
    const startCpu: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const { seconds, cpu, node } = await timeStart(env, http);
      starts.push(seconds);
      startCpu.push(cpu);
      await stop(node);
    }

    const { node } = await timeStart(env, http);
    const lists: number[] = [];
    const listCpu: number[] = [];
    try {
      for (let run = 0; run < RUNS; run++) {
        const { seconds, cpu, stdout } = await timeCommand(['user', 'list'], env);
        listCpu.push(cpu);
        if (stdout.trim().split('\n').length !== ACCOUNTS) throw new Error(`user list printed ${stdout.trim().split('\n').length} accounts, not ${ACCOUNTS}`);
        lists.push(seconds);
      }
      if (values.profile !== undefined) await timeCommand(['user', 'list'], env, profileArgs('user-list'));
    } finally {
      await stop(node);
    }
    if (values.profile !== undefined) {
      const profiled = await timeStart(env, http, profileArgs('start'));
      await stop(profiled.node);
    }

    const result = {
      date: new Date().toISOString(),
      node: process.version,
      loadAverage: load.map((value) => Number(value.toFixed(2))),
      loadAverageAfter: loadavg().map((value) => Number(value.toFixed(2))),
      accounts: ACCOUNTS,
      start: stats(starts),
      startCpu: stats(startCpu),
      userList: stats(lists),
      userListCpu: stats(listCpu),
    };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    console.log(`${result.date}, Node.js ${result.node}, load average ${result.loadAverage.join(' ')} (after: ${result.loadAverageAfter.join(' ')})`);
    console.log(`| command | median | min | max | CPU (median) | target | met |`);
    console.log(`|---|---|---|---|---|---|---|`);
    console.log(`| \`rookery start\` until /readyz answers 200 | ${fmt(result.start.median)} | ${fmt(result.start.min)} | ${fmt(result.start.max)} | ${fmt(result.startCpu.median)} | ≤ ${TARGET_START_S} s | ${result.start.median <= TARGET_START_S ? 'yes' : 'no'} |`);
    console.log(`| \`rookery user list\` (${ACCOUNTS} accounts, via the node) | ${fmt(result.userList.median)} | ${fmt(result.userList.min)} | ${fmt(result.userList.max)} | ${fmt(result.userListCpu.median)} | ≤ ${TARGET_LIST_S} s | ${result.userList.median <= TARGET_LIST_S ? 'yes' : 'no'} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
