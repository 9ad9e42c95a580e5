// Federation with a real Prosody (Debian's package) on loopback: Rookery serves the domain
// 127.20.0.1 on 127.20.0.1:5269 (Prosody reaches an IP-literal domain on 5269, RFC 6120 §3.2.2),
// and reaches prosody.test by a static route (ROOKERY_S2S_ROUTES). Prosody's certificate comes
// from a CA made for the run; this Rookery does not trust it and has a self-signed certificate:
// TLS is used, and dialback authenticates (s2sSecureAuth off, as Prosody's default).
// A second Rookery (127.20.0.6) has a certificate from that CA and trusts it, as Prosody trusts
// it: SASL EXTERNAL both ways (XEP-0178), out over Prosody's direct TLS port (XEP-0368), and
// Prosody's stream to it under an s2s byte rate.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { destination } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { recordLimits } from '../limits/support.js';
import { RawClient } from '../support/client.js';
import { freePorts } from '../support/cluster.js';
import { prosodyAvailable, startProsody, type Prosody } from '../support/prosody.js';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { createTestCa } from '../support/test-ca.js';
import { federationSuite, type Peer } from './suite.js';

const ROOKERY = '127.20.0.1';
const VERIFIED = '127.20.0.6';
const PEER = 'prosody.test';
/** The verified Rookery's s2s byte rate (and burst): low, so that a few kilobytes show it. */
const RATE = 4000;

describe.skipIf(!prosodyAvailable())('federation with Prosody', () => {
  let prosody: Prosody;
  let rookery: TestServer;
  let verified: TestServer;
  let enforced: Map<string, number>;
  let directPort: number;

  beforeAll(async () => {
    const [c2s, s2s, direct] = (await freePorts(3)) as [number, number, number];
    directPort = direct;
    const scratch = mkdtempSync(join(tmpdir(), 'rk-s2s-'));
    const ca = await createTestCa(scratch);
    prosody = await startProsody(scratch, PEER, c2s, s2s, { files: await ca.issue(PEER), cafile: ca.caFile, s2sDirectTlsPort: direct });
    rookery = await startTestServer({
      ...(process.env.S2S_LOG ? { log: createLogger({ level: 'debug', destination: destination(process.env.S2S_LOG) }) } : {}),
      config: { domain: ROOKERY, bindAddress: ROOKERY, s2sPort: 5269, s2sRoutes: `${PEER}=127.0.0.1:${s2s}`, logLevel: 'debug' },
    });
    const own = await ca.issue(VERIFIED);
    verified = await startTestServer({
      ...(process.env.S2S_LOG ? { log: createLogger({ level: 'debug', destination: destination(`${process.env.S2S_LOG}.verified`) }) } : {}),
      config: {
        domain: VERIFIED,
        bindAddress: VERIFIED,
        s2sPort: 5269,
        s2sRoutes: `${PEER}=tls:127.0.0.1:${direct}`,
        tlsCert: own.cert,
        tlsKey: own.key,
        s2sCaFile: ca.caFile,
        // Dialback would not do: only a verified certificate authenticates.
        s2sSecureAuth: true,
        limits: { ...DEFAULT_LIMITS, s2sBytesPerSecond: RATE, s2sBurstBytes: RATE },
      },
    });
    enforced = recordLimits(verified.server.host);
  }, 60_000);
  afterAll(async () => {
    await rookery?.stop();
    await verified?.stop();
    await prosody?.stop();
    if (process.env.S2S_LOG) console.log(prosody?.log());
  });

  const login = async (user: string, resource: string): Promise<RawClient> => {
    const client = await RawClient.connect({ port: prosody.c2sPort, domain: PEER });
    await client.login(user, PASSWORD, resource);
    return client;
  };
  const peer = (): Peer => ({
    domain: PEER,
    login,
    register: (user: string) => prosody.register(user, PASSWORD),
    stop: () => prosody.stop(),
    start: () => prosody.start(),
    log: () => prosody.log(),
  });

  federationSuite(Object.assign(() => ({ rookery, peer: peer(), rookeryHost: ROOKERY }), { restartable: true }));

  describe('with certificates from a CA both trust', () => {
    const pair = async (name: string): Promise<{ local: RawClient; remote: RawClient }> => {
      await verified.createUser(name);
      prosody.register(name, PASSWORD);
      const local = await verified.connect({ host: VERIFIED });
      await local.login(name, PASSWORD, 'r');
      const remote = await login(name, 'p');
      local.send('<presence/>');
      remote.send('<presence/>');
      return { local, remote };
    };

    it('authenticates with SASL EXTERNAL each way, out over Prosody\'s direct TLS port', async () => {
      expect(verified.server.s2s?.certificateValid).toBe(true);
      const { local, remote } = await pair(`ext${process.pid}`);
      local.send(`<message type='chat' to='${remote.bare}' id='e1'><body>over direct TLS</body></message>`);
      expect((await remote.expect((el) => el.name === 'message' && el.attrs.id === 'e1', 20_000)).attrs.from).toBe(local.jid);
      remote.send(`<message type='chat' to='${local.bare}' id='e2'><body>over STARTTLS</body></message>`);
      expect((await local.expect((el) => el.name === 'message' && el.attrs.id === 'e2', 20_000)).attrs.from).toBe(remote.jid);
      const streams = verified.server.s2s?.streams() ?? [];
      expect(streams).toContainEqual({ direction: 'out', remote: PEER, ready: true, secure: true, directTls: true, auth: 'external' });
      expect(streams).toContainEqual({ direction: 'in', remote: PEER, ready: true, secure: true, directTls: false, auth: 'external' });
      // Prosody's side of it: it accepted our EXTERNAL on its direct TLS port, and used it to us.
      const log = readFileSync(join(prosody.dir, 'prosody.log'), 'utf8');
      expect(log).toMatch(new RegExp(`New connection FD \\d+ \\([^)]*\\) on server FD \\d+ \\(127\\.0\\.0\\.1, ${directPort}\\)`));
      expect(log).toContain(`Accepting SASL EXTERNAL identity from ${VERIFIED}`);
      expect(log).toContain(`SASL EXTERNAL with ${VERIFIED} succeeded`);
    }, 40_000);

    it('reads an incoming stream no faster than s2sBytesPerSecond, and delivers every stanza in order', async () => {
      const { local, remote } = await pair(`rate${process.pid}`);
      // One message first: the stream from Prosody is up (its setup is not what is measured).
      remote.send(`<message type='chat' to='${local.bare}' id='warm'><body>up</body></message>`);
      await local.expect((el) => el.name === 'message' && el.attrs.id === 'warm', 20_000);
      const ids = Array.from({ length: 24 }, (_, index) => `f${index}`);
      const flood = ids.map((id) => `<message type='chat' to='${local.bare}' id='${id}'><body>${'y'.repeat(500)}</body></message>`).join('');
      const bytes = Buffer.byteLength(flood);
      const started = performance.now();
      remote.send(flood);
      const received: string[] = [];
      for (const id of ids) received.push(String((await local.expect((el) => el.name === 'message' && el.attrs.id === id, 30_000)).attrs.id));
      const elapsedMs = performance.now() - started;
      expect(received).toEqual(ids);
      // Prosody adds addresses, so at least these bytes crossed; at most a burst went at once, the rest at RATE.
      expect(elapsedMs).toBeGreaterThan(0.8 * ((bytes - RATE) / RATE) * 1000);
      expect(enforced.get('s2s_bytes_rate')).toBeGreaterThan(0);
    }, 60_000);
  });
});
