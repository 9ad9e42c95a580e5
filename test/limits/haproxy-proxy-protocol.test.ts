// The PROXY protocol with a real proxy: HAProxy (`send-proxy-v2`, mode tcp) in front of a real
// node process on both client ports. The node must see the client's own address, not HAProxy's,
// and must close a connection on those ports from any peer outside trustedProxies.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { RawClient } from '../support/client.js';
import { CLUSTER_PASSWORD, eventually, freePorts, startCluster, type TestCluster } from '../support/cluster.js';

const HAPROXY = spawnSync('sh', ['-c', 'command -v haproxy']).status === 0;
/** The client's own address; HAProxy reaches the node from 127.0.0.1, the only trusted proxy. */
const CLIENT_ADDRESS = '127.0.0.2';
const UNTRUSTED_ADDRESS = '127.0.0.3';

interface LogLine {
  event?: string;
  jid?: string;
  address?: string;
  reason?: string;
  peer?: string;
}

/** The node's JSON log lines (stdout, info level), skipping the test harness's own markers. */
function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

function haproxyConfig(front: { c2s: number; c2sTls: number }, node: { c2sPort: number; c2sTlsPort: number }): string {
  return `global
    maxconn 100
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend c2s
    bind 127.0.0.1:${front.c2s}
    default_backend c2s_node
backend c2s_node
    server n0 127.0.0.1:${node.c2sPort} send-proxy-v2
frontend c2s_tls
    bind 127.0.0.1:${front.c2sTls}
    default_backend c2s_tls_node
backend c2s_tls_node
    server n0 127.0.0.1:${node.c2sTlsPort} send-proxy-v2
`;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

describe.skipIf(!HAPROXY)('a node behind HAProxy sending the PROXY protocol (v2)', () => {
  let cluster: TestCluster;
  let haproxy: ChildProcess | undefined;
  let haproxyOutput = '';
  let front: { c2s: number; c2sTls: number };
  const dir = mkdtempSync(join(tmpdir(), 'rookery-haproxy-'));
  const clients: RawClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 1,
      env: {
        ROOKERY_C2S_PROXY_PROTOCOL: 'true',
        ROOKERY_C2S_TLS_PROXY_PROTOCOL: 'true',
        ROOKERY_TRUSTED_PROXIES: '127.0.0.1/32',
      },
    });
    await cluster.createUser('alice');
    await cluster.createUser('bob');
    const [c2s, c2sTls] = (await freePorts(2)) as [number, number];
    front = { c2s, c2sTls };
    const config = join(dir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(front, cluster.node(0)));
    const child = spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy = child;
    child.stdout.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString()));
    await eventually('HAProxy listens on both client ports', async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}):\n${haproxyOutput}`);
      return (await portAnswers(c2s)) && (await portAnswers(c2sTls));
    });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.destroy();
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((resolve) => haproxy?.once('exit', resolve));
      haproxy.kill('SIGTERM');
      await exited;
    }
    await cluster?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const track = (client: RawClient): RawClient => {
    clients.push(client);
    return client;
  };

  const reportOnFailure = (): void => onTestFailed(() => console.log(`===== haproxy\n${haproxyOutput}\n${cluster.output()}`));

  it('logs in a client through HAProxy on the STARTTLS port and sees its own address, not the proxy’s', async () => {
    reportOnFailure();
    const client = track(await RawClient.connect({ port: front.c2s, localAddress: CLIENT_ADDRESS }));
    expect(await client.login('alice', CLUSTER_PASSWORD, 'desk')).toBe('alice@localhost/desk');
    await eventually('the node logs the login', () => logLines(cluster.node(0).output()).some((line) => line.event === 'auth_success' && line.jid === 'alice@localhost'));
    const logins = logLines(cluster.node(0).output()).filter((line) => line.event === 'auth_success' && line.jid === 'alice@localhost');
    expect(logins.map((line) => line.address)).toEqual([CLIENT_ADDRESS]);
  });

  it('logs in a client through HAProxy on the direct TLS port and sees its own address', async () => {
    reportOnFailure();
    const client = track(await RawClient.connect({ port: front.c2sTls, directTls: true, localAddress: CLIENT_ADDRESS }));
    expect(await client.login('bob', CLUSTER_PASSWORD, 'desk')).toBe('bob@localhost/desk');
    await eventually('the node logs the login', () => logLines(cluster.node(0).output()).some((line) => line.event === 'auth_success' && line.jid === 'bob@localhost'));
    const logins = logLines(cluster.node(0).output()).filter((line) => line.event === 'auth_success' && line.jid === 'bob@localhost');
    expect(logins.map((line) => line.address)).toEqual([CLIENT_ADDRESS]);
  });

  it.each([
    ['STARTTLS', false],
    ['direct TLS', true],
  ] as const)('closes a connection straight to the node’s %s port from an address that is not a trusted proxy', async (_port, directTls) => {
    reportOnFailure();
    const node = cluster.node(0);
    const port = directTls ? node.c2sTlsPort : node.c2sPort;
    const refusals = (): LogLine[] => logLines(node.output()).filter((line) => line.event === 'proxy_refused' && line.peer === UNTRUSTED_ADDRESS);
    const before = refusals().length;
    // Raw TCP: the node closes it before a byte of TLS or XMPP, whatever the client would send.
    const client = track(await RawClient.connect({ port, localAddress: UNTRUSTED_ADDRESS }));
    client.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>");
    await client.closed();
    expect(client.socketClosed).toBe(true);
    expect(client.inbox).toEqual([]);
    expect(client.streamHeader).toBeUndefined();
    await eventually('the node logs the refusal', () => refusals().length > before);
    expect(refusals().every((line) => line.reason === 'proxy_untrusted')).toBe(true);
  });
});
