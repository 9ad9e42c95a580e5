// Fuzzing the stanza handlers over real sockets: several logged-in clients send batches of
// well-formed but hostile stanzas (stanzas.ts) at once. A stanza-level problem is answered at
// stanza level (RFC 6120 §8.3): the session stays open and answers a ping after every batch,
// every iq get/set gets exactly one result or error (§8.2.3), an error or an iq result is
// never answered (§8.3.1), nothing crashes (no internal-server-error, no error in the log),
// another client can still log in, and the heap does not keep growing from batch to batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clone, type Element } from 'ltx';
import type { RawClient } from '../support/client.js';
import { params, runs } from './options.js';
import { heapAfterGc } from './heap.js';
import { type FuzzServer, startFuzzServer } from './server.js';
import { type FuzzStanza, fuzzStanza, idFor, type Parties, shorten } from './stanzas.js';
import { printReportOnFailure, testReport } from '../support/report.js';

const report = testReport('fuzz-stanza-handlers');
printReportOnFailure(report);

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const ROUNDS = 60;
const TIMEOUT = runs(120_000);

interface Connection {
  tag: string;
  local: string;
  resource: string;
  client: RawClient;
  parties: Parties;
}

let server: FuzzServer;
const connections: Connection[] = [];
let stanzasSent = 0;
let round = 0;
/** V8 heap after a full collection, every 10 rounds. */
const heap: number[] = [];
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

const ACCOUNTS: Array<[string, string]> = [['fuzz0', 'a'], ['fuzz0', 'b'], ['fuzz1', 'a'], ['fuzz2', 'a']];

beforeAll(async () => {
  server = await startFuzzServer();
  const { domain } = server;
  for (const local of ['fuzz0', 'fuzz1', 'fuzz2', 'ghost', 'probe']) await server.createUser(local);
  const fulls = ACCOUNTS.map(([local, resource]) => `${local}@${domain}/${resource}`);
  for (const [i, [local, resource]] of ACCOUNTS.entries()) {
    const client = await server.login(local, resource);
    client.send('<presence/>');
    connections.push({
      tag: `c${i}`,
      local,
      resource,
      client,
      parties: {
        domain,
        self: { bare: `${local}@${domain}`, full: fulls[i]! },
        connected: fulls.filter((_, j) => j !== i),
        accounts: ['fuzz0', 'fuzz1', 'fuzz2', 'ghost'].filter((l) => l !== local).map((l) => `${l}@${domain}`),
      },
    });
  }
  for (const { client } of connections) await alive(client, 'setup');
  server.problems.length = 0; // start-up warnings (a self-signed certificate)
}, 30_000);

afterAll(async () => {
  report.log(`stanza handler fuzz: ${stanzasSent} stanzas over ${connections.length} connections; heap ${heap.map(mib).join(', ')} MiB`);
  await server?.stop();
});

/** A round trip (XEP-0199 to the server): answered with a result, or an error if the client blocked its own server. */
async function alive(client: RawClient, id: string): Promise<void> {
  client.send(`<iq type='get' id='${id}' to='${server.domain}'><ping xmlns='urn:xmpp:ping'/></iq>`);
  try {
    await client.expect((e) => e.name === 'iq' && e.attrs.id === id && (e.attrs.type === 'result' || e.attrs.type === 'error'), 5_000);
  } catch {
    const error = client.inbox.find((e) => e.name === 'stream:error');
    throw new Error(`the session did not answer a ping${error ? `; it was closed with ${shorten(error.toString())}` : ''}`);
  }
}

/** The connection's client, logged in again if an earlier (failing) run killed it: shrinking needs a live session. */
async function live(connection: Connection): Promise<RawClient> {
  const { client } = connection;
  if (!client.socketClosed && !client.streamClosed && client.streamError() === undefined) return client;
  client.destroy();
  connection.client = await server.login(connection.local, connection.resource);
  return connection.client;
}

function condition(element: Element): string | undefined {
  const error = element.getChild('error');
  return error?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS_STANZAS && c.name !== 'text')?.name;
}

/** Sends one batch in a single write and checks what came back once the session answered a ping. */
async function runBatch(connection: Connection, batch: FuzzStanza[], r: number): Promise<void> {
  const client = await live(connection);
  client.clear();
  const sent: Array<{ stanza: FuzzStanza; id: string | undefined }> = [];
  let xml = '';
  batch.forEach((stanza, i) => {
    const id = idFor(stanza.idKind, `${connection.tag}r${r}s${i}`);
    const element = clone(stanza.element);
    if (id !== undefined) element.attrs.id = id;
    xml += element.toString();
    // An empty id can't be told apart; the others are unique within this run.
    sent.push({ stanza, id: id === '' ? undefined : id });
  });
  client.send(xml);
  await alive(client, `${connection.tag}r${r}ping`);
  stanzasSent += batch.length;

  expect(client.streamError(), 'the session was closed with a stream error').toBeUndefined();
  expect(client.socketClosed).toBe(false);
  const crashed = client.inbox.filter((e) => condition(e) === 'internal-server-error');
  expect(crashed.map((e) => shorten(e.toString())), 'a handler failed').toEqual([]);
  const byId = new Map<string, Element[]>();
  for (const element of client.inbox) {
    const id = element.attrs.id;
    if (typeof id === 'string') byId.set(id, [...(byId.get(id) ?? []), element]);
  }
  for (const { stanza, id } of sent) {
    if (id === undefined) continue;
    const got = byId.get(id) ?? [];
    const what = `${shorten(stanza.element.toString())} → ${shorten(got.map(String).join(' '))}`;
    const { name, type, target } = stanza;
    if (name === 'iq' && (type === 'get' || type === 'set')) {
      // To another connected resource the request is delivered there; to our own full JID, here.
      if (target !== 'connected') expect(got.length, `iq ${type} answered ${got.length} times: ${what}`).toBe(1);
    } else if (type === 'error' || (name === 'iq' && type === 'result')) {
      if (target !== 'self-full') expect(got.length, `error or result answered: ${what}`).toBe(0);
    } else {
      const errors = got.filter((e) => e.attrs.type === 'error');
      expect(errors.length, `answered with ${errors.length} errors: ${what}`).toBeLessThanOrEqual(1);
    }
  }
}

describe('stanza handler fuzz', () => {
  it('answers hostile stanzas at stanza level, on several connections at once, without crashing or growing', async () => {
    const batches = fc.tuple(...connections.map(({ parties }) => fc.array(fuzzStanza(parties), { minLength: 10, maxLength: 50 })));
    await fc.assert(
      fc.asyncProperty(batches, async (perConnection) => {
        const r = ++round;
        await Promise.all(perConnection.map((batch, i) => runBatch(connections[i]!, batch, r)));
        expect(server.problems, 'the server logged warnings or errors').toEqual([]);
        if (r % 10 === 0) {
          // Someone else can still log in.
          const probe = await server.login('probe', `p${r}`);
          await alive(probe, 'probe');
          await probe.close();
          heap.push(heapAfterGc());
        }
      }),
      // A failing run may wait for timeouts while it shrinks: stop shrinking in time to report.
      params(ROUNDS, 20, { interruptAfterTimeLimit: TIMEOUT - 20_000 }),
    );
    expect(stanzasSent).toBeGreaterThanOrEqual(runs(ROUNDS * connections.length * 10));
    // The first sample is after warm-up (compiled code, pools); later ones must not climb.
    const growth = heap.at(-1)! - heap[0]!;
    expect(growth, `heap after each 10 rounds: ${heap.map(mib).join(', ')} MiB`).toBeLessThan(16 * 2 ** 20);
  }, TIMEOUT);
});
