// The durable store's room records and histories (migration 7) and vCards (migration 11), under
// the in-process occupants of state/memory/muc.ts: a room outlives a restart, its occupants'
// sessions do not.
import type { HistoryEntry, RoomRecord } from '../muc.js';
import type { RoomRecords } from '../memory/muc.js';
import type { DataDir } from './database.js';

export class DurableRoomRecords implements RoomRecords {
  private readonly select;
  private readonly upsert;
  private readonly removeRoom;
  private readonly removeHistory;
  private readonly selectAll;
  private readonly selectHistory;
  private readonly insertEntry;
  private readonly trim;
  private readonly selectVcard;
  private readonly upsertVcard;
  private readonly removeVcard;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.select = db.prepare<[string], { record: string }>('SELECT record FROM muc_room WHERE room = ?');
    this.upsert = db.prepare<[string, string]>('INSERT INTO muc_room (room, record) VALUES (?, ?) ON CONFLICT (room) DO UPDATE SET record = excluded.record');
    this.removeRoom = db.prepare<[string]>('DELETE FROM muc_room WHERE room = ?');
    this.removeHistory = db.prepare<[string]>('DELETE FROM muc_history WHERE room = ?');
    this.selectAll = db.prepare<[], { room: string }>('SELECT room FROM muc_room ORDER BY room');
    this.selectHistory = db.prepare<[string], { entry: string }>('SELECT entry FROM muc_history WHERE room = ? ORDER BY id');
    this.insertEntry = db.prepare<[string, string]>('INSERT INTO muc_history (room, entry) VALUES (?, ?)');
    // Keeps the newest `limit` entries of the room.
    this.trim = db.prepare<[string, string, number]>('DELETE FROM muc_history WHERE room = ? AND id NOT IN (SELECT id FROM muc_history WHERE room = ? ORDER BY id DESC LIMIT ?)');
    this.selectVcard = db.prepare<[string], { vcard: string }>('SELECT vcard FROM muc_vcard WHERE room = ?');
    this.upsertVcard = db.prepare<[string, string]>('INSERT INTO muc_vcard (room, vcard) VALUES (?, ?) ON CONFLICT (room) DO UPDATE SET vcard = excluded.vcard');
    this.removeVcard = db.prepare<[string]>('DELETE FROM muc_vcard WHERE room = ?');
    // A temporary room lives only while occupied, and no occupant outlives the process.
    for (const room of this.list()) if (!this.load(room)?.config.persistent) this.save(room, undefined);
  }

  load(room: string): RoomRecord | undefined {
    const row = this.select.get(room);
    return row ? (JSON.parse(row.record) as RoomRecord) : undefined;
  }

  save(room: string, record: RoomRecord | undefined): void {
    if (record) {
      this.upsert.run(room, JSON.stringify(record));
    } else {
      this.removeRoom.run(room);
      this.removeHistory.run(room);
      this.removeVcard.run(room);
    }
  }

  vcard(room: string): string | undefined {
    return this.selectVcard.get(room)?.vcard;
  }

  saveVcard(room: string, xml: string | undefined): void {
    if (xml === undefined) this.removeVcard.run(room);
    else this.upsertVcard.run(room, xml);
  }

  list(): string[] {
    return this.selectAll.all().map((row) => row.room);
  }

  history(room: string): HistoryEntry[] {
    return this.selectHistory.all(room).map((row) => JSON.parse(row.entry) as HistoryEntry);
  }

  append(room: string, entry: HistoryEntry, historyLength: number): void {
    this.insertEntry.run(room, JSON.stringify(entry));
    this.trim.run(room, room, Math.max(0, Math.floor(historyLength)));
  }

  async settle(): Promise<void> {
    await this.dir.flushed();
  }
}
