// Fuzzing the client stream parser (src/xml/stream-parser.ts, RFC 6120 §4 and §11) with
// generated inputs: it never throws out of write(), reports problems only through its error
// event and only once, always returns, holds no more than its limits allow, gives the same
// events however the input is chunked, and only emits stanzas that serialise back to
// themselves (so nothing it forwards can smuggle markup into another client's stream).
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Element } from 'ltx';
import { MAX_HEADER_BYTES, StreamParser, type StreamParserLimits } from '../../src/xml/stream-parser.js';
import { heapAfterGc } from './heap.js';
import { FUZZ_SEED, params, runs } from './options.js';
import { anyInput, cuts, HEADERS, randomBytes, smallSoup, split, STANZAS, validStream } from './xml-inputs.js';
import { printReportOnFailure, testReport } from '../support/report.js';

const report = testReport('fuzz-stream-parser');
printReportOnFailure(report);

/** Limits no generated input reaches: results must then be independent of chunking. */
const ROOMY: StreamParserLimits = { maxStanzaBytes: 4 * 1024 * 1024, maxDepth: 1000 };

const tightLimits: fc.Arbitrary<StreamParserLimits> = fc.record({
  maxStanzaBytes: fc.constantFrom(100, 300, 1000, 10_000),
  maxDepth: fc.constantFrom(1, 2, 8, 64),
});

const RUNS = { chunking: 30_000, limits: 30_000, valid: 15_000, reset: 10_000, bytewise: 15_000 };
/** Generous: a slow machine must not fail the run, and a hang still does. */
const TIMEOUT = runs(60_000);
let inputs = 0;
afterAll(() => {
  report.log(`stream parser fuzz: ${inputs} inputs (FUZZ_SEED=${FUZZ_SEED})`);
});

/**
 * Most inputs end in an error value (saxes' and ours): capturing their stacks, which nobody
 * reads here, would take a fifth of the run time.
 */
function withoutStacks(write: () => void): void {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    write();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

interface Outcome {
  /** Every event in order: 'start …', 'stanza …', 'end', 'error <condition>'. */
  log: string[];
  stanzas: Element[];
}

/**
 * Writes `pieces` to a new parser and checks the invariants that hold at every step: write()
 * returns normally, nothing follows the terminal event (error or end), and what the parser
 * holds stays within its limits.
 */
function run(pieces: ReadonlyArray<Buffer | string>, limits: StreamParserLimits): Outcome {
  const log: string[] = [];
  const stanzas: Element[] = [];
  let terminal = false;
  const after = (event: string): void => {
    if (terminal) throw new Error(`${event} after the stream ended or failed: ${log.join(' | ')}`);
  };
  const parser = new StreamParser(
    {
      streamStart(header) {
        after('streamStart');
        if (log.length > 0) throw new Error('a second stream header without reset');
        log.push(`start ${JSON.stringify(header)}`);
      },
      stanza(element) {
        after('stanza');
        stanzas.push(element);
        log.push(`stanza ${element.toString()}`);
      },
      streamEnd() {
        after('streamEnd');
        terminal = true;
        log.push('end');
      },
      error(error) {
        after('error');
        terminal = true;
        log.push(`error ${error.condition}`);
      },
    },
    { ...limits },
  );
  const bound = Math.max(limits.maxStanzaBytes, MAX_HEADER_BYTES);
  withoutStacks(() => {
    for (const piece of pieces) {
      parser.write(piece); // a throw here fails the property
      const held = parser.bufferedBytes();
      if (held > bound) throw new Error(`parser holds ${held} bytes, more than its bound ${bound}`);
    }
  });
  if (log.some((event) => event === 'error internal-server-error')) {
    throw new Error(`the parser broke an invariant (internal-server-error): ${log.join(' | ')}`);
  }
  return { log, stanzas };
}

/**
 * The same events, except that limits are checked once per slice of input: past a limit, the
 * parser may refuse with policy-violation before it reaches a later error or end, so when the
 * input is over a limit, the stanzas before either outcome must still agree.
 */
function same(whole: Outcome, chunked: Outcome, bytes: number, limit = ROOMY.maxStanzaBytes): void {
  if (bytes <= Math.min(limit, MAX_HEADER_BYTES) || (whole.log.at(-1) !== 'error policy-violation' && chunked.log.at(-1) !== 'error policy-violation')) {
    equal(chunked.log, whole.log);
    return;
  }
  const stanzasOf = (o: Outcome): string[] => o.log.filter((e) => e.startsWith('stanza'));
  const [a, b] = [stanzasOf(whole), stanzasOf(chunked)];
  const n = Math.min(a.length, b.length);
  equal(b.slice(0, n), a.slice(0, n));
}

/** toEqual, with a cheap comparison first: this runs a few hundred thousand times. */
function equal(actual: readonly string[], expected: readonly string[]): void {
  if (actual.length !== expected.length || actual.some((e, i) => e !== expected[i])) expect(actual).toEqual(expected);
}

/**
 * An emitted stanza reparsed on its own must give back the same element. One difference is
 * tolerated: ltx writes tab, CR and LF in attribute values, and CR in text, unescaped, so a
 * reader normalises them (XML 1.0 §2.11, §3.3.3) and such a value arrives with spaces or LFs.
 */
function roundTrips(stanza: Element): void {
  const source = stanza.toString();
  const again = run([HEADERS[0]!, source], ROOMY);
  const normalise = (events: string[]): string[] => events.map((e) => e.replace(/[\t\r\n]/g, ' '));
  equal(normalise(again.log.slice(1)), normalise([`stanza ${source}`]));
}

describe('stream parser fuzz', () => {
  it('gives the same events for an input written whole or in random chunks, as bytes or as strings, within roomy limits', () => {
    fc.assert(
      fc.property(anyInput, cuts, fc.boolean(), (input, chunking, asText) => {
        inputs++;
        // As text: the same bytes read as latin1, split anywhere (even inside a surrogate pair).
        const data = asText ? input.toString('latin1') : input;
        const whole = run([data], ROOMY);
        same(whole, run(split(data, chunking), ROOMY), Buffer.byteLength(data));
        for (const stanza of whole.stanzas) roundTrips(stanza);
      }),
      params(RUNS.chunking, 1),
    );
  }, TIMEOUT);

  it('gives the same stanzas however an input is chunked under tight limits, and holds no more than them', () => {
    fc.assert(
      fc.property(anyInput, cuts, tightLimits, (input, chunking, limits) => {
        inputs++;
        same(run([input], limits), run(split(input, chunking), limits), input.length, limits.maxStanzaBytes);
      }),
      params(RUNS.limits, 2),
    );
  }, TIMEOUT);

  it('accepts every valid stream without error, emitting each of its stanzas, however it is chunked', () => {
    fc.assert(
      fc.property(validStream, cuts, ({ bytes, stanzas, closed }, chunking) => {
        inputs++;
        const { log } = run(split(bytes, chunking), ROOMY);
        const kinds = log.map((e) => e.split(' ', 1)[0] ?? '');
        equal(kinds, ['start', ...Array<string>(stanzas).fill('stanza'), ...(closed ? ['end'] : [])]);
      }),
      params(RUNS.valid, 3),
    );
  }, TIMEOUT);

  it('parses a valid stream after reset(), whatever the stream before it left behind', () => {
    fc.assert(
      fc.property(anyInput, cuts, validStream, (junk, chunking, { bytes, stanzas, closed }) => {
        inputs++;
        const log: string[] = [];
        const parser = new StreamParser(
          {
            streamStart: () => log.push('start'),
            stanza: () => log.push('stanza'),
            streamEnd: () => log.push('end'),
            error: (error) => log.push(`error ${error.condition}`),
          },
          { ...ROOMY },
        );
        withoutStacks(() => {
          for (const piece of split(junk, chunking)) parser.write(piece);
        });
        log.length = 0;
        parser.reset();
        parser.write(bytes);
        equal(log, ['start', ...Array<string>(stanzas).fill('stanza'), ...(closed ? ['end'] : [])]);
      }),
      params(RUNS.reset, 4),
    );
  }, TIMEOUT);

  it('never throws on random bytes or token soup written one byte at a time', () => {
    fc.assert(
      fc.property(fc.oneof(randomBytes, smallSoup), tightLimits, (input, limits) => {
        inputs++;
        run(split(input, [-1]), limits);
      }),
      params(RUNS.bytewise, 5),
    );
  }, TIMEOUT);

  it('holds no more memory after 40 000 generated stanzas on one stream than after 4 000', () => {
    // One long-lived stream, as a session's: nothing may accumulate from stanza to stanza.
    const stanzas = fc.sample(fc.constantFrom(...STANZAS.filter((x) => !x.startsWith('<starttls'))), { seed: FUZZ_SEED, numRuns: 4_000 });
    const batch = Buffer.from(stanzas.join(' \n'));
    let count = 0;
    let errors = 0;
    const parser = new StreamParser(
      { streamStart: () => {}, stanza: () => void count++, streamEnd: () => {}, error: () => void errors++ },
      { ...ROOMY },
    );
    parser.write(HEADERS[0]!);
    parser.write(batch);
    const before = heapAfterGc();
    for (let i = 0; i < 9; i++) parser.write(batch);
    const grown = heapAfterGc() - before;
    expect([count, errors]).toEqual([40_000, 0]);
    expect(parser.bufferedBytes()).toBe(0);
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  }, TIMEOUT);

  it('ran at least 100 000 generated inputs through the parser (at FUZZ_SCALE=1)', () => {
    const planned = Object.values(RUNS).reduce((sum, n) => sum + runs(n), 0);
    expect(inputs).toBeGreaterThanOrEqual(planned);
    expect(planned).toBeGreaterThanOrEqual(runs(100_000));
  });
});
