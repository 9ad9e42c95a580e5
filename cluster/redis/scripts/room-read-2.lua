-- room-read-2: one room as one consistent snapshot (state/muc.ts RoomSnapshot).
-- KEYS[1]  <p>:v1:room:{<room>}:state      hash "v" → version, "record" → JSON RoomRecord
-- KEYS[2]  <p>:v1:room:{<room>}:occupants  hash nick → JSON Occupant
-- Returns  {} when there is no room; else {version, record, nick1, occupant1, nick2, …}.
local state = redis.call('HMGET', KEYS[1], 'v', 'record')
if not state[2] then return {} end
local reply = { state[1] or '0', state[2] }
local occupants = redis.call('HGETALL', KEYS[2])
for i = 1, #occupants do reply[#reply + 1] = occupants[i] end
return reply
