// The preamble every protocol suite shares, once: a test server started before the suite's tests
// and stopped after them, fresh accounts with numbered names, and the condition of a stanza error.
import type { Element } from 'ltx';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from './server.js';

export interface ServerFixture {
  /** The started server; read it in tests and hooks (it starts in beforeAll). */
  readonly server: TestServer;
  /** Creates the account `<prefix><n>` (n counts up per suite) with the default password; returns its localpart. */
  user(prefix: string): Promise<string>;
}

/** Starts a test server for the enclosing describe block (call it at the top of the block). */
export function useTestServer(options: Parameters<typeof startTestServer>[0] = {}): ServerFixture {
  let started: TestServer | undefined;
  let n = 0;
  beforeAll(async () => {
    started = await startTestServer(options);
  });
  afterAll(async () => {
    await started?.stop();
  });
  const fixture: ServerFixture = {
    get server(): TestServer {
      if (!started) throw new Error('the test server starts in beforeAll');
      return started;
    },
    async user(prefix: string): Promise<string> {
      const local = `${prefix}${++n}`;
      await fixture.server.createUser(local);
      return local;
    },
  };
  return fixture;
}

/** The defined condition of a stanza's <error/> (RFC 6120 §8.3.3): its first child other than <text/>. */
export function condition(stanza: Element): string | undefined {
  return stanza.getChild('error')?.children.find((child): child is Element => typeof child !== 'string' && child.name !== 'text')?.name;
}
