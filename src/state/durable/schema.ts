// The schema of the durable store, as migrations: MIGRATIONS[n] takes the data from format n to
// n + 1, and the data format is the number of migrations (database.ts). A later feature appends
// a step here (a new table, a version column for the blocklist) and never edits an earlier one.
//
// Every value is the port's own: bare JIDs as prepared strings, credentials as JSON, roster
// items in roster-entry.ts's stable encoding, stanzas as XML.

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE account (user TEXT PRIMARY KEY, credentials TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE roster_entry (
     user TEXT NOT NULL, contact TEXT NOT NULL, item TEXT, pending_in TEXT,
     PRIMARY KEY (user, contact)
   ) WITHOUT ROWID;
   CREATE TABLE roster_version (user TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
   -- The rowid gives storage order: a new row's is above every existing one.
   CREATE TABLE offline (id INTEGER PRIMARY KEY, user TEXT NOT NULL, xml TEXT NOT NULL, stamp INTEGER NOT NULL);
   CREATE INDEX offline_by_user ON offline (user, id);
   CREATE TABLE blocklist (id INTEGER PRIMARY KEY, user TEXT NOT NULL, jid TEXT NOT NULL, UNIQUE (user, jid));`,
  // Every blocklist edit takes the next version (state/blocklist.ts), so pushes stay in order.
  `CREATE TABLE blocklist_version (user TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;`,
  // vCards and private XML (state/personal.ts): one row per item, key as personalKey writes it.
  `CREATE TABLE personal (user TEXT NOT NULL, key TEXT NOT NULL, xml TEXT NOT NULL, PRIMARY KEY (user, key)) WITHOUT ROWID;`,
  // PEP nodes and items (state/pep.ts): items ordered by seq (a republish takes a new one), the
  // bytes of all items per account kept in pep_account so a publish checks its limit in one read.
  `CREATE TABLE pep_node (user TEXT NOT NULL, node TEXT NOT NULL, config TEXT NOT NULL, PRIMARY KEY (user, node)) WITHOUT ROWID;
   CREATE TABLE pep_item (user TEXT NOT NULL, node TEXT NOT NULL, id TEXT NOT NULL, xml TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user, node, id)) WITHOUT ROWID;
   CREATE INDEX pep_item_order ON pep_item (user, node, seq);
   CREATE TABLE pep_account (user TEXT PRIMARY KEY, seq INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;`,
  // XEP-0484 FAST tokens (state/fast-tokens.ts): one row per account and device, its tokens as JSON.
  `CREATE TABLE fast_token (user TEXT NOT NULL, device TEXT NOT NULL, tokens TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (user, device)) WITHOUT ROWID;`,
  // The message archive (state/archive.ts): one row per entry, ordered by (ms, seq) per owner;
  // the second index answers a query by contact without a scan; dedupe keys expire by their time.
  `CREATE TABLE archive (owner TEXT NOT NULL, ms INTEGER NOT NULL, seq INTEGER NOT NULL, with_jid TEXT NOT NULL, xml TEXT NOT NULL, PRIMARY KEY (owner, ms, seq)) WITHOUT ROWID;
   CREATE INDEX archive_by_with ON archive (owner, with_jid, ms, seq);
   CREATE TABLE archive_dedupe (owner TEXT NOT NULL, key TEXT NOT NULL, ms INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (owner, key)) WITHOUT ROWID;
   CREATE TABLE archive_prefs (owner TEXT PRIMARY KEY, prefs TEXT NOT NULL) WITHOUT ROWID;`,
  // Group chat rooms (state/muc.ts): the record as JSON, and the discussion history. Occupants are
  // not stored: their sessions end with the process.
  `CREATE TABLE muc_room (room TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE muc_history (id INTEGER PRIMARY KEY, room TEXT NOT NULL, entry TEXT NOT NULL);
   CREATE INDEX muc_history_by_room ON muc_history (room, id);`,
  // Explicit PEP subscriptions (XEP-0060 §6.1, state/pep.ts): the rowid keeps subscription order.
  `CREATE TABLE pep_subscription (id INTEGER PRIMARY KEY, user TEXT NOT NULL, node TEXT NOT NULL, jid TEXT NOT NULL, UNIQUE (user, node, jid));`,
  // XEP-0357 push registrations (state/push.ts): one row per account and (jid, node), as JSON.
  `CREATE TABLE push_registration (user TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (user, key)) WITHOUT ROWID;`,
  // The stanza identity of an offline message (state/offline.ts): a copy routed again is not stored twice.
  `ALTER TABLE offline ADD COLUMN sid TEXT;
   CREATE INDEX offline_by_sid ON offline (user, sid) WHERE sid IS NOT NULL;`,
  // A group chat room's vCard (XEP-0054 on the room JID, state/muc.ts): deleted with the room.
  `CREATE TABLE muc_vcard (room TEXT PRIMARY KEY, vcard TEXT NOT NULL) WITHOUT ROWID;`,
  // XEP-0060 §6.3 subscription options of an explicit PEP subscription (encodeSubscriptionOptions; NULL: the defaults).
  `ALTER TABLE pep_subscription ADD COLUMN options TEXT;`,
];
