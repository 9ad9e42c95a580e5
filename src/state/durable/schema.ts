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
  // Group chat rooms (state/muc.ts): the record as JSON, and the discussion history. Occupants are
  // not stored: their sessions end with the process.
  `CREATE TABLE muc_room (room TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE muc_history (id INTEGER PRIMARY KEY, room TEXT NOT NULL, entry TEXT NOT NULL);
   CREATE INDEX muc_history_by_room ON muc_history (room, id);`,
];
