// Fuzzing the stream over raw sockets (RFC 6120 §4.9): after a valid stream header, before and
// after authentication, a client sends mutated stanzas, forbidden constructs or noise, then a
// tail that no open construct can swallow. Whatever it sent, the server ends the stream (with
// a stream error naming a defined condition, never internal-server-error, or with its closing
// tag when the client closed first) and closes the connection, logs nothing, and keeps
// serving its other clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { RawClient } from '../support/client.js';
import { params, runs } from './options.js';
import { type FuzzServer, startFuzzServer } from './server.js';
import { describeBytes, streamBody } from './xml-inputs.js';
import { printReportOnFailure, testReport } from '../support/report.js';

const report = testReport('fuzz-raw-socket');
printReportOnFailure(report);

/**
 * Ends any construct the input may have left open: a comment inside a stanza (-->), a
 * processing instruction (?>), a CDATA section (]]>), an attribute value (' or "), a start
 * tag (>); then closes the stream, which mismatches any open element. Whatever was open, the
 * result is refused or closed. (Until then an open construct inside a stanza is input still
 * to come, held up to the stanza size limit, as for any unfinished stanza.)
 */
const TAIL = `-->?>]]>'"></stream:stream>`;

const CONDITIONS = new Set([
  'bad-format', 'bad-namespace-prefix', 'conflict', 'connection-timeout', 'host-unknown', 'improper-addressing',
  'invalid-from', 'invalid-namespace', 'invalid-xml', 'not-authorized', 'not-well-formed', 'policy-violation',
  'resource-constraint', 'restricted-xml', 'undefined-condition', 'unsupported-encoding', 'unsupported-feature',
  'unsupported-stanza-type', 'unsupported-version',
]);

const RUNS = { unauthenticated: 1200, authenticated: 300 };
const TIMEOUT = runs(120_000);

let server: FuzzServer;
let survivor: RawClient;
let inputs = 0;

beforeAll(async () => {
  server = await startFuzzServer();
  await server.createUser('raw');
  await server.createUser('survivor');
  survivor = await server.login('survivor', 'watch');
  server.problems.length = 0; // start-up warnings (a self-signed certificate)
}, 30_000);

afterAll(async () => {
  report.log(`raw socket fuzz: ${inputs} inputs`);
  await server?.stop();
});

/** Sends the input and the tail; the stream must end and the connection close. */
async function endsTheStream(client: RawClient, input: Buffer): Promise<void> {
  inputs++;
  client.clear();
  client.sendBytes(input);
  client.send(TAIL);
  try {
    await client.closed(5_000);
  } catch {
    throw new Error(`the connection stayed open after ${describeBytes(input)}; received: ${client.inbox.map(String).join(' ').slice(0, 500)}`);
  } finally {
    client.destroy();
  }
  const error = client.inbox.find((e) => e.name === 'stream:error');
  const condition = client.streamError();
  if (error) expect(CONDITIONS, `stream error ${error.toString()} after ${describeBytes(input)}`).toContain(condition);
  expect(server.problems, 'the server logged warnings or errors').toEqual([]);
}

/** The other client is still served (and someone new can log in) every so often. */
async function othersServed(n: number): Promise<void> {
  if (n % 50 !== 0) return;
  await survivor.barrier();
  const newcomer = await server.login('survivor', `n${n}`);
  await newcomer.barrier();
  await newcomer.close();
}

describe('raw socket fuzz', () => {
  it('ends the stream and closes the connection on any input after the header, before authentication', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(streamBody, async (input) => {
        const client = await server.connect();
        await client.openStream();
        await endsTheStream(client, input);
        await othersServed(++n);
      }),
      params(RUNS.unauthenticated, 30, { interruptAfterTimeLimit: TIMEOUT - 20_000 }),
    );
  }, TIMEOUT);

  it('ends the stream and closes the connection on any input after authentication', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(streamBody, async (input) => {
        const client = await server.login('raw', `r${++n}`);
        await endsTheStream(client, input);
        await othersServed(n);
      }),
      params(RUNS.authenticated, 31, { interruptAfterTimeLimit: TIMEOUT - 20_000 }),
    );
  }, TIMEOUT);

  it('still serves its other clients afterwards, and lets a new one log in', async () => {
    await survivor.barrier();
    const newcomer = await server.login('survivor', 'last');
    await newcomer.barrier();
    await newcomer.close();
    expect(inputs).toBeGreaterThanOrEqual(runs(RUNS.unauthenticated) + runs(RUNS.authenticated));
  });
});
