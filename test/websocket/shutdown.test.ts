// How a node lets go of its WebSockets when it stops or drains (RFC 7395 §3.6): a stream that
// cannot go on is closed with <system-shutdown/>, <close/> and then the WebSocket closing
// handshake (code 1000), never a bare TCP reset; a stream-managed one is handed over without
// closing the stream (no <close/>: the client resumes, on any node), still with the closing
// handshake. With httpPublicUrl set, the drain's <close/> says where to go: see-other-uri.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { NS_SM } from '../support/sm-client.js';
import { NS_FRAMING, WsClient } from '../support/ws-client.js';

describe('a node that stops or drains closes its WebSockets cleanly', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function online(node: number, resource: string, enableSm: boolean): Promise<{ client: WsClient; jid: string; smId?: string }> {
    const started = server as TestServer;
    const local = `ws${resource}`;
    await started.createUser(local);
    const client = await WsClient.connect(`ws://127.0.0.1:${started.httpPorts[node]}/xmpp-websocket`, started.config.domain);
    const jid = await client.login(local, PASSWORD, resource);
    if (enableSm) {
      client.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
      const enabled = await client.expect('enabled');
      return { client, jid, smId: String(enabled.attrs.id) };
    }
    return { client, jid };
  }

  it.each(['close', 'drain'] as const)('%s: a stream without stream management gets <system-shutdown/>, <close/> and close code 1000', async (how) => {
    server = await startTestServer({ backend: 'cluster' });
    const { client } = await online(0, `plain${how}`, false);
    const node = server.nodes[0];
    await (how === 'close' ? node?.close() : node?.drain(5000));
    const error = await client.expect('stream:error');
    expect(error.getChild('system-shutdown')).toBeDefined();
    const close = await client.expect('close');
    expect(close.attrs.xmlns).toBe(NS_FRAMING);
    expect((await client.closed()).code).toBe(1000);
  });

  it('drain: a stream-managed stream is handed over without <close/> (so the client resumes), with close code 1000, and resumes on the other node', async () => {
    server = await startTestServer({ backend: 'cluster' });
    const { client, smId } = await online(0, 'managed', true);
    const enabled = client.inbox.length;
    await server.nodes[0]?.drain(5000);
    expect((await client.closed()).code).toBe(1000);
    const after = client.inbox.slice(enabled);
    expect(after.filter((element) => element.name === 'close' || element.name === 'stream:error')).toEqual([]);
    const again = await WsClient.connect(`ws://127.0.0.1:${server.httpPorts[1]}/xmpp-websocket`, server.config.domain);
    await again.authenticate('wsmanaged', PASSWORD);
    again.send(`<resume xmlns='${NS_SM}' previd='${smId}' h='0'/>`);
    expect((await again.expect((element) => element.name === 'resumed' || element.name === 'failed')).name).toBe('resumed');
    again.terminate();
  });
});
