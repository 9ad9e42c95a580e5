// XEP-0227 rooms ↔ the room store and the archive (room.ts is the XML side). A room is written
// in an order that leaves nothing half-visible, as an account is (transfer.ts): what an earlier
// failed attempt left of its archive is cleared, the archive is written, and the room itself
// (record and vCard, one commit) comes last; until it exists, nobody can read the rest. A room
// that exists already is left as it is and reported, never merged.
import { randomBytes } from 'node:crypto';
import { parse } from 'ltx';
import type { Limits } from '../config.js';
import type { StateBackend } from '../state/backend.js';
import type { RoomRecord } from '../state/muc.js';
import { domainOf } from '../xmpp/jid-string.js';
import { photoHash } from '../xmpp/vcard-photo.js';
import { storeArchive, storedArchive } from './archive.js';
import type { RoomData } from './room.js';

export interface RoomImportReport {
  imported: string[];
  /** Rooms that exist already, left as they were. */
  existing: string[];
  /** What was not imported: element names with the number of rooms that had them. */
  skippedElements: Map<string, number>;
}

/** A persistent, configured room as stored; undefined for any other (a temporary room lives only with its occupants). */
export async function readRoomData(state: StateBackend, jid: string): Promise<RoomData | undefined> {
  const snapshot = await state.muc.get(jid);
  if (!snapshot || snapshot.record.locked || !snapshot.record.config.persistent) return undefined;
  const { config, affiliations, subject } = snapshot.record;
  const [vcard, archive] = await Promise.all([state.muc.vcard(jid), storedArchive(state, jid)]);
  return { jid, config, affiliations, ...(subject ? { subject } : {}), ...(vcard === undefined ? {} : { vcard }), archive, skipped: [] };
}

/** Writes one checked room (see the top of this file for the order); false when it exists. */
export async function writeRoomData(state: StateBackend, data: RoomData, limits: Limits): Promise<boolean> {
  const { jid } = data;
  if (await state.muc.get(jid)) return false;
  await state.archive.deleteAll(jid);
  await storeArchive(state, jid, data.archive, limits);
  const avatar = data.vcard === undefined ? undefined : photoHash(parse(data.vcard));
  const record: RoomRecord = {
    config: data.config,
    affiliations: data.affiliations,
    ...(data.subject ? { subject: data.subject } : {}),
    locked: false,
    salt: randomBytes(12).toString('base64'),
    created: Date.now(),
    ...(avatar === undefined ? {} : { avatar }),
  };
  return state.muc.transact(jid, (snapshot) => (snapshot ? { value: false } : { change: { record, vcard: data.vcard ?? null }, value: true }));
}

export async function importRooms(state: StateBackend, rooms: readonly RoomData[], limits: Limits): Promise<RoomImportReport> {
  const report: RoomImportReport = { imported: [], existing: [], skippedElements: new Map() };
  for (const room of rooms) {
    for (const name of new Set(room.skipped)) report.skippedElements.set(name, (report.skippedElements.get(name) ?? 0) + 1);
    if (await writeRoomData(state, room, limits)) report.imported.push(room.jid);
    else report.existing.push(room.jid);
  }
  return report;
}

/** The persistent rooms of one MUC domain, one at a time (the store lists rooms without loading them all). */
export async function* roomsOf(state: StateBackend, domain: string): AsyncIterable<RoomData> {
  for await (const jid of state.muc.rooms()) {
    if (domainOf(jid) !== domain) continue;
    const data = await readRoomData(state, jid);
    if (data) yield data;
  }
}
