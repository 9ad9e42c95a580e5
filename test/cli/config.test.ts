// The `rookery` command as a child process: configuration errors (one line, exit 2), start-up
// failures (one line and a JSON log line, exit 1), check-config, --version, a closed pipe and the
// password read from stdin.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { closeRedis, connectRedis, scanKeys } from '../../cluster/redis/connection.js';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { verifyPassword } from '../../src/sasl/credentials.js';

const BIN = new URL('../../bin/rookery.js', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command with only the given ROOKERY_ variables (none inherited from this process). */
function rookery(args: string[], env: Record<string, string>, options: { input?: string; closeStdout?: boolean } = {}): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ROOKERY_')));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...inherited, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // The reader of `rookery user list | head -1` gone before the first line is written.
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(options.input ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'rookery-cli-'));

describe('configuration errors', () => {
  it('are one line on stderr and exit code 2, for each kind of bad input', async () => {
    const quoted = join(dir, 'quoted.yaml');
    writeFileSync(quoted, 'allowPlaintextAuth: "false"\n');
    const runs = await Promise.all([
      rookery(['start'], { ROOKERY_DOMIAN: 'x' }),
      rookery(['--config', quoted, 'start'], {}),
      rookery(['start'], { ROOKERY_DOMAIN: 'not a domain!' }),
      rookery(['check-config'], { ROOKERY_LOG_LEVEL: 'verbose' }),
    ]);
    expect(runs.map((run) => run.code)).toEqual([2, 2, 2, 2]);
    expect(runs.map((run) => run.stdout)).toEqual(['', '', '', '']);
    expect(runs.map((run) => run.stderr)).toEqual([
      'rookery: unknown environment variable ROOKERY_DOMIAN (did you mean ROOKERY_DOMAIN?)\n',
      `rookery: ${quoted}: allowPlaintextAuth: expected a boolean (true or false), got the string "false"\n`,
      'rookery: ROOKERY_DOMAIN: expected a domain name of lowercase labels (a-z, 0-9, "-") separated by dots, or an IP address (RFC 7622 domainpart), got "not a domain!"\n',
      'rookery: ROOKERY_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n',
    ]);
    // Four processes at once on a small shared machine.
  }, 60_000);
});

describe('a failure at start', () => {
  let holder: Server | undefined;
  afterAll(() => new Promise<void>((resolve) => (holder ? holder.close(() => resolve()) : resolve())));

  it('says in one line which port is in use, logs it as JSON and exits 1', async () => {
    holder = createServer();
    const port = await new Promise<number>((resolve) => holder?.listen(0, '127.0.0.1', () => resolve((holder?.address() as { port: number }).port)));
    const run = await rookery(['start'], { ROOKERY_BIND_ADDRESS: '127.0.0.1', ROOKERY_C2S_PORT: String(port), ROOKERY_C2S_TLS_PORT: '0', ROOKERY_HTTP_PORT: '0' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`rookery: cannot start: port ${port} on 127.0.0.1 is already in use (ROOKERY_C2S_PORT): stop what holds it or choose another port\n`);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: 'info', event: 'starting', version: VERSION, msg: `rookery ${VERSION} starting` });
    expect(lines.at(-1)).toMatchObject({ level: 'fatal', event: 'start_failed', code: 'EADDRINUSE' });
    expect(run.stdout).not.toContain('    at ');
  });
});

describe('check-config and --version', () => {
  const secrets = { ROOKERY_REDIS_URL: 'redis://app:hunter2@redis.example:6379/0', ROOKERY_REDIS_PASSWORD: 'pa55word', ROOKERY_ADMIN_TOKEN: 'tok3n' };

  it('prints the effective configuration as YAML with every secret masked', async () => {
    const run = await rookery(['check-config'], { ...secrets, ROOKERY_DOMAIN: 'example.com' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('domain: example.com\n');
    expect(run.stdout).toContain('redisUrl: redis://app:[redacted]@redis.example:6379/0\n');
    expect(run.stdout).toContain('adminToken: "[redacted]"\n');
    for (const secret of ['hunter2', 'pa55word', 'tok3n']) expect(run.stdout).not.toContain(secret);
  });

  it('prints it as JSON on request', async () => {
    const run = await rookery(['check-config', '--format', 'json'], secrets);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ redisPassword: '[redacted]', adminToken: '[redacted]', dataDir: './data', limits: { maxConnections: 50_000 } });
  });

  it('accepts rookery.example.yaml, every setting at its default, and prints it as the defaults', async () => {
    const example = new URL('../../rookery.example.yaml', import.meta.url).pathname;
    const [fromFile, defaults] = await Promise.all([
      rookery(['check-config', '--config', example, '--format', 'json'], { ROOKERY_NODE_ID: 'n1' }),
      rookery(['check-config', '--format', 'json'], { ROOKERY_NODE_ID: 'n1' }),
    ]);
    expect([fromFile.code, fromFile.stderr]).toEqual([0, '']);
    expect(JSON.parse(fromFile.stdout)).toEqual(JSON.parse(defaults.stdout));
  });

  it('prints the version of package.json', async () => {
    const run = await rookery(['--version'], {});
    expect([run.code, run.stdout]).toEqual([0, `${VERSION}\n`]);
  });
});

describe('account commands on Redis', () => {
  const redisUrl = inject('redisUrl');
  const prefix = `clicfg${randomBytes(3).toString('hex')}`;
  // The domain is given: no node has written this prefix's deployment record yet.
  const env = { ROOKERY_REDIS_URL: redisUrl, ROOKERY_REDIS_PREFIX: prefix, ROOKERY_DOMAIN: 'localhost' };

  afterAll(async () => {
    const client = await connectRedis(redisUrl);
    for await (const key of scanKeys(client, `${prefix}*`)) await client.del(key);
    await closeRedis(client);
  });

  async function passwordWorks(bare: string, password: string): Promise<boolean> {
    const state = await createRedisBackend({ url: redisUrl, prefix });
    try {
      const credentials = await state.accounts.credentials(bare);
      return credentials !== undefined && (await verifyPassword(password, credentials['SHA-256'], 'SHA-256'));
    } finally {
      await state.close();
    }
  }

  it('reads the password from stdin when none is given and stdin is no terminal', async () => {
    const added = await rookery(['user', 'add', 'grace'], env, { input: 'from-stdin\n' });
    expect([added.code, added.stdout]).toEqual([0, 'created grace@localhost\n']);
    expect(await passwordWorks('grace@localhost', 'from-stdin')).toBe(true);
    const changed = await rookery(['user', 'passwd', 'grace'], env, { input: 'changed\n' });
    expect(changed.code).toBe(0);
    expect(await passwordWorks('grace@localhost', 'changed')).toBe(true);
  });

  it('adopts the domain the prefix serves when none is given, and refuses another one', async () => {
    const adopted = await rookery(['user', 'add', 'ivan', 'pw'], { ROOKERY_REDIS_URL: redisUrl, ROOKERY_REDIS_PREFIX: prefix });
    expect([adopted.code, adopted.stdout]).toEqual([0, 'created ivan@localhost\n']);
    const other = await rookery(['user', 'list'], { ...env, ROOKERY_DOMAIN: 'example.com' });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('serves localhost, not example.com: set ROOKERY_DOMAIN=localhost');
  });

  it('names ROOKERY_REDIS_PREFIX instead of listing nothing when the prefix holds no deployment', async () => {
    const run = await rookery(['user', 'list'], { ROOKERY_REDIS_URL: redisUrl, ROOKERY_REDIS_PREFIX: `${prefix}typo` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no Rookery deployment under the Redis key prefix');
    expect(run.stderr).toContain('ROOKERY_REDIS_PREFIX');
  });

  it('refuses an empty password read from stdin', async () => {
    const run = await rookery(['user', 'add', 'heidi'], env, { input: '' });
    expect([run.code, run.stderr]).toEqual([1, 'rookery: the password is empty\n']);
  });

  it('ends quietly with 0 when the reader of its output has gone (EPIPE)', async () => {
    await rookery(['user', 'add', 'ivan', 'pw'], env);
    const run = await rookery(['user', 'list'], env, { closeStdout: true });
    expect([run.code, run.stderr]).toEqual([0, '']);
  });
});
