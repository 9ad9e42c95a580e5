// The durable embedded backend (SQLite in a data directory) against every contract. Each
// backend the suites open gets a directory of its own under this file's temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDurableBackend } from '../../src/state/durable/index.js';
import { allContracts } from './all.js';

describe('durable backend', () => {
  const root = mkdtempSync(join(tmpdir(), 'rookery-contract-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  allContracts(async () => createDurableBackend(mkdtempSync(join(root, 'data-'))));
});

describe('durable group chat rooms', () => {
  const root = mkdtempSync(join(tmpdir(), 'rookery-muc-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps a persistent room with its history, vCard and directory entry across a restart, without its occupants, and drops a temporary one', async () => {
    const dir = mkdtempSync(join(root, 'data-'));
    const config = (persistent: boolean) => ({
      name: '', description: '', persistent, public: true, membersOnly: false, password: '', moderated: false,
      maxOccupants: 10, whois: 'moderators' as const, historyLength: 5, allowPrivateMessages: 'anyone' as const, changeSubject: false, allowInvites: false,
    });
    const occupant = { nick: 'Hecate', bare: 'hecate@localhost', role: 'moderator' as const, sessions: [{ jid: 'hecate@localhost/a', node: 'n', presence: '<presence/>' }] };
    const first = createDurableBackend(dir);
    for (const [room, persistent] of [['kept@conference.localhost', true], ['gone@conference.localhost', false]] as const) {
      await first.muc.transact(room, () => ({ change: { record: { config: config(persistent), affiliations: { 'hecate@localhost': 'owner' }, locked: false, salt: 's', created: 1 }, put: [occupant], vcard: `<vCard xmlns="vcard-temp"><FN>${room}</FN></vCard>` }, value: undefined }));
      await first.muc.message(room, 'hecate@localhost/a', { nick: '', xml: '<message/>', stamp: 2 }, 5);
    }
    await first.close();
    const second = createDurableBackend(dir);
    const kept = await second.muc.get('kept@conference.localhost');
    expect(kept?.record.config.persistent).toBe(true);
    expect(kept?.occupants.size).toBe(0);
    await expect(second.muc.history('kept@conference.localhost')).resolves.toStrictEqual([{ nick: 'Hecate', xml: '<message/>', stamp: 2, v: 1 }]);
    // The room goes on from its history's version: a newcomer is not cut off from it.
    await expect(second.muc.get('kept@conference.localhost')).resolves.toMatchObject({ version: 1 });
    await expect(second.muc.get('gone@conference.localhost')).resolves.toBeUndefined();
    await expect(second.muc.history('gone@conference.localhost')).resolves.toStrictEqual([]);
    // Its vCard and its place in the directory are kept with it; the temporary room's are gone.
    await expect(second.muc.vcard('kept@conference.localhost')).resolves.toBe('<vCard xmlns="vcard-temp"><FN>kept@conference.localhost</FN></vCard>');
    await expect(second.muc.vcard('gone@conference.localhost')).resolves.toBeUndefined();
    await expect(second.muc.directory('conference.localhost', { max: 10 })).resolves.toStrictEqual({ rooms: [{ jid: 'kept@conference.localhost', name: '' }], index: 0, count: 1 });
    await second.close();
  });
});
