// TLS session resumption (tickets) on the client ports: a client that comes back resumes its TLS
// session instead of a full handshake, on the node it left and on any other node of the cluster
// (the ticket keys come from a secret the nodes share, c2s/tls-tickets.ts).
import { connect, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ticketKeys, TICKET_PERIOD_MS } from '../../src/c2s/tls-tickets.js';
import { RawClient } from '../support/client.js';
import { useTestServer } from '../support/fixture.js';

/** A direct TLS (XEP-0368) handshake; the ticket once the server has sent it, and whether it resumed. */
async function directTls(port: number, session?: Buffer): Promise<{ ticket: Buffer | undefined; resumed: boolean }> {
  const socket: TLSSocket = connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['xmpp-client'], ...(session ? { session } : {}) });
  let ticket: Buffer | undefined;
  socket.on('session', (received: Buffer) => { ticket = received; });
  await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
  const resumed = socket.isSessionReused();
  socket.write("<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  await new Promise((resolve) => socket.once('data', resolve));
  socket.destroy();
  return { ticket, resumed };
}

async function startTls(port: number, session?: Buffer): Promise<RawClient> {
  const client = await RawClient.connect({ port, domain: 'localhost' });
  await client.openStream();
  await client.startTls(session ? { session } : {});
  // The server's features come after the handshake, and with them (TLS 1.3) the ticket.
  await client.openStream();
  return client;
}

describe('TLS session tickets', () => {
  it('derive 48 bytes of keys per period from the shared secret, and others in the next period', () => {
    const secret = Buffer.alloc(32, 7);
    const now = Date.UTC(2026, 11, 7, 10);
    expect(ticketKeys(secret, now)).toHaveLength(48);
    expect(ticketKeys(secret, now).equals(ticketKeys(secret, now + 1000))).toBe(true);
    expect(ticketKeys(secret, now).equals(ticketKeys(secret, now + TICKET_PERIOD_MS))).toBe(false);
    expect(ticketKeys(secret, now).equals(ticketKeys(Buffer.alloc(32, 8), now))).toBe(false);
  });

  describe.each(['memory', 'cluster'] as const)('on %s', (backend) => {
    const fixture = useTestServer({ backend });

    it('resume a STARTTLS session on every node', async () => {
      const nodes = fixture.server.nodes;
      const first = await startTls(nodes[0]!.ports().c2s);
      expect(first.tlsResumed).toBe(false);
      expect(first.tlsSession).toBeDefined();
      first.destroy();
      for (const node of nodes) {
        const again = await startTls(node.ports().c2s, first.tlsSession);
        expect(again.tlsResumed).toBe(true);
        again.destroy();
      }
    });

    it('resume a direct TLS session on every node', async () => {
      const nodes = fixture.server.nodes;
      const first = await directTls(nodes[0]!.ports().c2sTls);
      expect(first.resumed).toBe(false);
      expect(first.ticket).toBeDefined();
      for (const node of nodes) expect((await directTls(node.ports().c2sTls, first.ticket)).resumed).toBe(true);
    });
  });
});
