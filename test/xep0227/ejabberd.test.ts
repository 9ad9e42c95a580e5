// Interoperability with the real ejabberd (Debian's package): accounts, a roster, an offline
// message, a vCard and private XML made with ejabberdctl, exported with `ejabberdctl
// export_piefxis` (a main file that xi:includes the host file, SCRAM-SHA-1 keys doubly base64
// encoded), imported into Rookery; each user then logs in with the original password.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { importAccounts, readImport } from '../../src/xep0227/transfer.js';
import { xml } from '../support/client.js';
import { ejabberdAvailable, startEjabberd } from '../support/ejabberd.js';
import { STORES, startTestServer } from '../support/server.js';

const DOMAIN = 'localhost';
const PASSWORDS = { alice: 'pässword one', bob: 'secret-2' } as const;
const runnable = ejabberdAvailable() && process.getuid?.() === 0;

describe.skipIf(!runnable)('an export of the real ejabberd', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'rookery-ejabberd-'));
  let mainFile = '';

  beforeAll(async () => {
    const ejabberd = await startEjabberd(scratch, DOMAIN, 25000 + (process.pid % 2000));
    try {
      ejabberd.ctl('register', 'alice', DOMAIN, PASSWORDS.alice);
      ejabberd.ctl('register', 'bob', DOMAIN, PASSWORDS.bob);
      ejabberd.ctl('add_rosteritem', 'alice', DOMAIN, 'bob', DOMAIN, 'Bobby', 'Friends;Work', 'both');
      ejabberd.ctl('add_rosteritem', 'bob', DOMAIN, 'alice', DOMAIN, 'Alice', 'Friends', 'both');
      ejabberd.ctl('send_message', 'chat', `alice@${DOMAIN}`, `bob@${DOMAIN}`, 'Hi', 'Hello while you were away');
      ejabberd.ctl('set_vcard', 'alice', DOMAIN, 'FN', 'Alice Liddell');
      ejabberd.ctl('private_set', 'alice', DOMAIN, "<storage xmlns='storage:bookmarks'><conference jid='tea@party.example' autojoin='true' name='Tea'/></storage>");
      const out = join(ejabberd.dir, 'export');
      ejabberd.ctl('export_piefxis', out);
      const files = readdirSync(out).sort();
      // ejabberd writes <stamp>.xml and <stamp>_<host>.xml; the main file is the shorter name.
      expect(files).toHaveLength(2);
      mainFile = join(out, files[0] as string);
    } finally {
      await ejabberd.stop();
    }
  }, 180_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(STORES)('imports into the %s store, and each user logs in with the original password to the same roster, vCard and offline message', async (store) => {
    const server = await startTestServer({ backend: store, config: { domain: DOMAIN } });
    try {
      const options = { domain: DOMAIN, limits: DEFAULT_LIMITS, iterations: 4096 };
      const report = await importAccounts(server.server.host.state, readImport([mainFile], options), options);
      expect(report.imported.sort()).toEqual([`alice@${DOMAIN}`, `bob@${DOMAIN}`]);

      const alice = await server.login('alice', 'desk', PASSWORDS.alice);
      const roster = await alice.iq('get', "<query xmlns='jabber:iq:roster'/>");
      expect(xml`<iq type='result'><query xmlns='jabber:iq:roster'><item jid='bob@${DOMAIN}' name='Bobby' subscription='both'><group>Friends</group><group>Work</group></item></query></iq>`(roster)).toBe(true);
      const vcard = await alice.iq('get', "<vCard xmlns='vcard-temp'/>");
      expect(vcard.getChild('vCard', 'vcard-temp')?.getChildText('FN')).toBe('Alice Liddell');
      const bookmarks = await alice.iq('get', "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>");
      expect(xml`<iq type='result'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='tea@party.example' autojoin='true'/></storage></query></iq>`(bookmarks)).toBe(true);

      const bob = await server.login('bob', 'phone', PASSWORDS.bob);
      bob.send('<presence/>');
      const message = await bob.expect((element: Element) => element.name === 'message');
      expect(xml`<message from='alice@${DOMAIN}' type='chat'><body>Hello while you were away</body><subject>Hi</subject><delay xmlns='urn:xmpp:delay'/></message>`(message)).toBe(true);
      expect(message.getChildren('delay')).toHaveLength(1);
      const bobRoster = await bob.iq('get', "<query xmlns='jabber:iq:roster'/>");
      expect(xml`<iq type='result'><query xmlns='jabber:iq:roster'><item jid='alice@${DOMAIN}' subscription='both'/></query></iq>`(bobRoster)).toBe(true);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
