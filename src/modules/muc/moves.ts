// An occupant's node follows its session when stream management parks it or resumes it on
// another node (doc/session-model.md, "Occupancy"). Parks and resumptions of one session are
// told on different nodes, and their room updates race (a draining node parks many occupants of
// one room at once): an update applied late must not put back a node the session has left. So the
// node written is the one the session registry names, read again after the write until the two
// agree; the last writer always checks after the last change of the registry.
import { PARKED_NODE } from '../../state/sessions.js';
import { occupantOf } from './room.js';
import type { MucService } from './service.js';

/** Reads of the registry after a write before giving up (each means the session moved meanwhile). */
const ROUNDS = 5;

export async function followSession(service: MucService, fullJid: string): Promise<void> {
  const rooms = await service.store.roomsOf(fullJid);
  if (rooms.length === 0) return;
  const registry = service.host.state.registry;
  let node = (await registry.get(fullJid, { fresh: true }))?.node;
  for (let round = 0; round < ROUNDS && node !== undefined; round += 1) {
    const target = node;
    for (const room of rooms) await setNode(service, room, fullJid, target);
    node = (await registry.get(fullJid, { fresh: true }))?.node;
    if (node === target) {
      service.host.log.debug({ event: 'muc_occupant_moved', parked: node === PARKED_NODE });
      return;
    }
  }
  // Gone from the registry: its end (resource-unbind, resource-lost) removes it from its rooms.
  if (node !== undefined) service.host.log.warn({ event: 'muc_occupant_move_unsettled', rooms: rooms.length });
}

async function setNode(service: MucService, room: string, fullJid: string, node: string): Promise<void> {
  await service.store.transact(room, (snapshot) => {
    const occupant = snapshot && occupantOf(snapshot, fullJid);
    if (!occupant || occupant.sessions.every((session) => session.jid !== fullJid || session.node === node)) return { value: undefined };
    const sessions = occupant.sessions.map((session) => (session.jid === fullJid ? { ...session, node } : session));
    return { change: { put: [{ ...occupant, sessions }] }, value: undefined };
  });
}
