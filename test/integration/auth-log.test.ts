// Every login, failed or not, leaves one log line with the JID, the client address, the mechanism
// and the reason: what audits and fail2ban-style blocking read.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';

interface LogLine {
  event?: string;
  msg?: string;
  jid?: string;
  address?: string;
  mechanism?: string;
  reason?: string;
}

describe('authentication events in the log', () => {
  const lines: LogLine[] = [];
  let server: TestServer;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    server = await startTestServer({ log: pino({ level: 'info' }, sink) });
    await server.createUser('alice');
  });
  afterAll(() => server.stop());

  const events = (event: string): LogLine[] => lines.filter((line) => line.event === event);

  it('logs a success with the JID, the address and the mechanism', async () => {
    const client = await server.login('alice');
    await client.close();
    expect(events('auth_success')).toContainEqual(
      expect.objectContaining({ jid: 'alice@localhost', address: '127.0.0.1', mechanism: 'PLAIN', msg: 'authentication succeeded' }),
    );
  });

  it('logs a wrong password with the JID, the address, the mechanism and the reason', async () => {
    const client = await server.connect();
    await client.openStream();
    await client.startTls();
    await client.openStream();
    const outcome = await client.authPlain('alice', `${PASSWORD}-wrong`);
    expect(outcome.name).toBe('failure');
    client.destroy();
    expect(events('auth_failure')).toContainEqual(
      expect.objectContaining({ jid: 'alice@localhost', address: '127.0.0.1', mechanism: 'PLAIN', reason: 'not-authorized' }),
    );
  });

  it('logs a refusal that never reached a password check, with its reason', async () => {
    const client = await server.connect();
    await client.openStream();
    client.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHg=</auth>");
    const outcome = await client.expect((element) => element.name === 'failure');
    expect(outcome.getChild('encryption-required')).toBeDefined();
    client.destroy();
    expect(events('auth_failure')).toContainEqual(expect.objectContaining({ address: '127.0.0.1', mechanism: 'PLAIN', reason: 'encryption-required' }));
  });
});
