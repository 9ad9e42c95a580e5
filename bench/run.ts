// The benchmark: starts each server under test, creates its accounts, runs the workloads with the
// load generators (worker.ts), stops the server, and writes the figures (JSON and RESULTS.md).
//
//   npm run bench          Rookery only (1 node embedded, 1 node + Redis, 2 nodes + Redis, 1 node over WebSocket)
//   npm run bench:peers    the same workloads against Rookery, Prosody and ejabberd → bench/RESULTS.md
//
// Options: --servers rookery,prosody,ejabberd  --rookery embedded,redis,cluster  --workloads idle,…
//          --rookery also takes websocket: a fresh embedded node for ws-idle, ws-messages and upload
//          --quick  --generators N  --out FILE  --json FILE  --profile  --wait-load 1.0
//          --idle N --login N --pairs N --window N --duration S --contacts N --rounds N
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GeneratorPool } from './lib/pool.js';
import { commandOutput, findPids, hardFileLimit, loadAverage, machine, sleep } from './lib/proc.js';
import { ANALYSIS_MARKER, oneLine, renderResults, type RunMeta } from './report.js';
import { startEjabberd } from './servers/ejabberd.js';
import { startProsody } from './servers/prosody.js';
import { type RookeryMode, startRookery } from './servers/rookery.js';
import { upload, uploadAccounts } from './upload-workload.js';
import type { LaunchContext, RunningServer } from './servers/types.js';
import { accountNames, type Figure, FULL, idle, login, messages, type Params, presence, QUICK, settle, type WarmAccounts, type WorkloadName } from './workloads.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));

const { values: args } = parseArgs({
  options: {
    servers: { type: 'string', default: 'rookery' },
    rookery: { type: 'string', default: 'embedded,redis,cluster,websocket' },
    workloads: { type: 'string' },
    quick: { type: 'boolean', default: false },
    generators: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'wait-load': { type: 'string' },
    idle: { type: 'string' },
    login: { type: 'string' },
    'tls-login': { type: 'string' },
    pairs: { type: 'string' },
    window: { type: 'string' },
    duration: { type: 'string' },
    contacts: { type: 'string' },
    rounds: { type: 'string' },
    render: { type: 'string' },
  },
});

const params: Params = { ...(args.quick ? QUICK : FULL) };
const int = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number.parseInt(value, 10));
params.generators = int(args.generators) ?? params.generators;
params.idleSessions = int(args.idle) ?? params.idleSessions;
params.loginClients = int(args.login) ?? params.loginClients;
params.tlsLoginClients = int(args['tls-login']) ?? params.tlsLoginClients;
params.pairs = int(args.pairs) ?? params.pairs;
params.window = int(args.window) ?? params.window;
params.durationMs = (int(args.duration) ?? params.durationMs / 1000) * 1000;
params.presenceContacts = int(args.contacts) ?? params.presenceContacts;
params.presenceRounds = int(args.rounds) ?? params.presenceRounds;

const ALL: WorkloadName[] = ['idle', 'login-scram', 'login-plain', 'messages', 'presence', 'pep', 'tls-login', 'tls-resume-login', 'tls-messages'];
/** Rookery's own surfaces, on a node of their own started fresh, so that ws-idle measures from a clean start as idle does. */
const WEB: WorkloadName[] = ['ws-idle', 'ws-messages', 'upload'];
const selected = new Set<string>(args.workloads ? args.workloads.split(',') : [...ALL, 'cross-node', ...WEB]);
const servers = args.servers.split(',').map((s) => s.trim());
const rookeryModes = args.rookery.split(',').map((s) => s.trim()) as Array<RookeryMode | 'websocket'>;

const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function waitForQuiet(limit: number): Promise<void> {
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    const one = Number(loadAverage().split(' ')[0]);
    if (one < limit) return;
    if (Date.now() > deadline) {
      log(`load average still ${loadAverage()} after 20 minutes; going ahead`);
      return;
    }
    log(`load average ${loadAverage()}: waiting for the 1-minute figure to drop below ${limit}`);
    await sleep(30_000);
  }
}

interface Plan {
  name: string;
  start: (ctx: LaunchContext) => Promise<RunningServer>;
  workloads: WorkloadName[];
}

function plans(): Plan[] {
  const out: Plan[] = [];
  const only = (names: WorkloadName[]): WorkloadName[] => names.filter((name) => selected.has(name));
  for (const server of servers) {
    if (server === 'rookery') {
      for (const mode of rookeryModes) {
        if (mode === 'embedded') out.push({ name: 'rookery-embedded', start: (ctx) => startRookery('embedded', ctx), workloads: only(ALL) });
        if (mode === 'redis') out.push({ name: 'rookery-redis', start: (ctx) => startRookery('redis', ctx), workloads: only(['login-scram', 'messages']) });
        // Both cores: the same-node workloads with the clients spread over the two nodes, then cross-node.
        if (mode === 'cluster') out.push({ name: 'rookery-cluster', start: (ctx) => startRookery('cluster', ctx), workloads: only(['login-scram', 'login-plain', 'messages', 'pep', 'tls-login', 'tls-resume-login', 'tls-messages', 'cross-node']) });
        if (mode === 'websocket') out.push({ name: 'rookery-websocket', start: (ctx) => startRookery('embedded', ctx), workloads: only(WEB) });
      }
    } else if (server === 'prosody') {
      out.push({ name: 'prosody', start: startProsody, workloads: only(ALL) });
    } else if (server === 'ejabberd') {
      out.push({ name: 'ejabberd', start: startEjabberd, workloads: only(ALL) });
    } else {
      throw new Error(`unknown server ${server}`);
    }
  }
  return out.filter((plan) => plan.workloads.length > 0);
}

async function runWorkload(name: WorkloadName, server: RunningServer, pool: GeneratorPool, names: ReturnType<typeof accountNames>, warm: WarmAccounts): Promise<Figure | Figure[]> {
  switch (name) {
    case 'idle':
      return idle(server, pool, params, names.users, warm);
    case 'ws-idle':
      return idle(server, pool, params, names.users, warm, { workload: name, webSocket: true });
    case 'ws-messages':
      return messages(server, pool, params, names.users, { workload: name, starttls: false, crossNode: false, webSocket: true });
    case 'upload':
      return upload(server, pool, params);
    case 'login-scram':
      return login(server, pool, params, names.users, { workload: name, mechanism: 'SCRAM-SHA-1', starttls: false, clients: params.loginClients }, warm);
    case 'login-plain':
      return login(server, pool, params, names.users, { workload: name, mechanism: 'PLAIN', starttls: false, clients: params.loginClients }, warm);
    case 'tls-login':
      return login(server, pool, params, names.users, { workload: name, mechanism: 'SCRAM-SHA-1', starttls: true, clients: params.tlsLoginClients }, warm);
    case 'tls-resume-login':
      return login(server, pool, params, names.users, { workload: name, mechanism: 'SCRAM-SHA-1', starttls: true, resumeTls: true, clients: params.tlsLoginClients }, warm);
    case 'messages':
      return messages(server, pool, params, names.users, { workload: name, starttls: false, crossNode: false });
    case 'tls-messages':
      return messages(server, pool, params, names.users, { workload: name, starttls: true, crossNode: false });
    case 'cross-node':
      return messages(server, pool, params, names.users, { workload: name, starttls: false, crossNode: true });
    case 'presence':
      return presence(server, pool, params, names.hub, names.contacts);
    case 'pep':
      return presence(server, pool, params, names.hub, names.contacts, 'pep');
  }
}

function failedFigure(name: WorkloadName, server: RunningServer, error: unknown): Figure {
  return {
    workload: name,
    server: server.label,
    kind: server.kind,
    config: server.config,
    ok: false,
    error: (error as Error).message.split('\n')[0],
    values: {},
    serverCpu: Number.NaN,
    generatorCpu: Number.NaN,
    wallMs: 0,
    notes: [],
  };
}

/** Pre-existing epmd: left alone; one that ejabberd started is stopped after it. */
function epmdRunning(): boolean {
  return findPids((_, comm) => comm === 'epmd').length > 0;
}

/** --render FILE.json: rewrites the Markdown from the figures of an earlier run (after a change to report.ts). */
function renderOnly(file: string): void {
  const { meta, figures } = JSON.parse(readFileSync(file, 'utf8')) as { meta: RunMeta; figures: Figure[] };
  const peers = figures.some((f) => f.kind !== 'rookery');
  const outFile = args.out ?? (peers ? join(BENCH, 'RESULTS.md') : join(BENCH, 'results', 'rookery.md'));
  writeResults(outFile, figures, meta);
}

function writeResults(outFile: string, figures: Figure[], meta: RunMeta): void {
  let kept: string | undefined;
  if (existsSync(outFile)) {
    const previous = readFileSync(outFile, 'utf8');
    const at = previous.indexOf(ANALYSIS_MARKER);
    if (at >= 0) kept = previous.slice(at + ANALYSIS_MARKER.length);
  }
  mkdirSync(join(outFile, '..'), { recursive: true });
  writeFileSync(outFile, renderResults(figures, meta, kept));
  log(`wrote ${outFile}`);
}

async function main(): Promise<void> {
  if (args.render) return renderOnly(args.render);
  const started = Date.now();
  if (args['wait-load']) await waitForQuiet(Number(args['wait-load']));
  const loadAtStart = loadAverage();
  const loads: RunMeta['loads'] = [];
  const dir = mkdtempSync(join(tmpdir(), 'rookery-bench-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '7', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
  const profileDir = join(BENCH, 'profiles');
  if (args.profile) mkdirSync(profileDir, { recursive: true });
  const ctx: LaunchContext = {
    dir,
    certFile,
    keyFile,
    domain: 'localhost',
    log,
    ...(args.profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
  };
  const names = accountNames(params);
  const figures: Figure[] = [];
  const versions: Record<string, string> = { 'load generator': `Node.js ${process.version}` };
  const notes: Record<string, string[]> = {};
  const startFailures: string[] = [];
  const profileWindows: Array<{ server: string; workload: string; from: number; to: number }> = [];
  log(`machine: ${machine()}; load ${loadAtStart}; open files ${hardFileLimit()}; scratch ${dir}`);
  if (hardFileLimit() < params.idleSessions + 1000) {
    log(`warning: the open-file limit ${hardFileLimit()} may not cover ${params.idleSessions} idle sessions (each process needs one descriptor per session)`);
  }
  try {
    for (const plan of plans()) {
      const epmdBefore = epmdRunning();
      loads.push({ when: `before ${plan.name}`, load: loadAverage() });
      log(`${plan.name}: starting (load ${loadAverage()})`);
      let server: RunningServer;
      try {
        server = await plan.start(ctx);
      } catch (error) {
        log(`${plan.name}: could not start: ${(error as Error).message}`);
        startFailures.push(`${plan.name}: could not start: ${(error as Error).message.split('\n')[0]}`);
        continue;
      }
      versions[server.kind === 'rookery' ? 'Rookery' : server.label] = server.version;
      notes[server.kind === 'rookery' ? 'Rookery' : server.label] = server.notes;
      const pool = new GeneratorPool(params.generators);
      try {
        const t0 = Date.now();
        const accounts = [
          ...names.users,
          ...(plan.workloads.includes('presence') || plan.workloads.includes('pep') ? [names.hub, ...names.contacts] : []),
          ...(plan.workloads.includes('upload') ? uploadAccounts(params) : []),
        ];
        await server.createAccounts(accounts, params.password);
        log(`${plan.name}: ${accounts.length} accounts in ${((Date.now() - t0) / 1000).toFixed(1)} s; pids ${server.pids().join(',')}`);
        let current = pool;
        const warm: WarmAccounts = new Set();
        for (const workload of plan.workloads) {
          await settle(server);
          const w0 = Date.now();
          let produced: Figure | Figure[];
          try {
            produced = await Promise.race([
              runWorkload(workload, server, current, names, warm),
              sleep(150_000).then(() => {
                throw new Error('workload did not finish within 150 s');
              }),
            ]);
          } catch (error) {
            produced = failedFigure(workload, server, error);
            // The generators may be stuck in the job: start fresh ones.
            await current.exit();
            current = new GeneratorPool(params.generators);
            warm.clear();
            await sleep(2000);
          }
          for (const figure of [produced].flat()) {
            if (figure.ok && figure.generatorCpu > 85) figure.notes.push(`the generator used ${figure.generatorCpu.toFixed(0)} % of a core: it may have been the limit`);
            if (figure.ok && figure.serverCpu + figure.generatorCpu + Object.values(figure.helperCpu ?? {}).reduce((a, b) => a + b, 0) > 175) {
              figure.notes.push('server + generator used nearly both cores: the machine may have been the limit');
            }
            figures.push(figure);
            log(`${oneLine(figure)} (${((Date.now() - w0) / 1000).toFixed(0)} s)`);
          }
          if (args.profile && server.kind === 'rookery') {
            // Seconds since the node started, i.e. since its CPU profile started (profile-summary --from/--to).
            const window = { server: plan.name, workload, from: (w0 - server.startedAt) / 1000, to: (Date.now() - server.startedAt) / 1000 };
            profileWindows.push(window);
            log(`profile window ${plan.name}/${workload}: --from ${window.from.toFixed(1)} --to ${window.to.toFixed(1)}`);
          }
        }
        await current.exit();
      } finally {
        await pool.exit();
        await server.stop();
        if (!epmdBefore && epmdRunning()) commandOutput('epmd', ['-kill']);
      }
      await sleep(2000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const meta: RunMeta = {
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
    machine: machine(),
    command: process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : `node --import tsx bench/run.ts ${process.argv.slice(2).join(' ')}`,
    loadAtStart,
    loads,
    versions,
    notes,
    params,
    fileLimit: hardFileLimit(),
    startFailures,
    durationMs: Date.now() - started,
  };
  const peers = servers.some((s) => s !== 'rookery');
  const jsonFile = args.json ?? join(BENCH, 'results', peers ? 'latest-peers.json' : 'latest-rookery.json');
  mkdirSync(join(jsonFile, '..'), { recursive: true });
  writeFileSync(jsonFile, JSON.stringify({ meta, figures }, null, 2));
  const outFile = args.out ?? (peers ? join(BENCH, 'RESULTS.md') : join(BENCH, 'results', 'rookery.md'));
  writeResults(outFile, figures, meta);
  log(`figures: ${jsonFile}`);
  if (args.profile) writeFileSync(join(profileDir, `windows-${Date.now()}.json`), JSON.stringify(profileWindows, null, 2));
  if (args.profile) log(`CPU profiles of the Rookery nodes: ${profileDir} (summarise with: node --import tsx bench/profile-summary.ts FILE)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
