-- room-commit-4: commits one decided change of a room (state/muc.ts RoomChange) if the room is
-- still at the version the decision saw; keeps the index of real JIDs (reals) with the occupants.
-- KEYS[1]  <p>:v1:room:{<room>}:state      hash "v" → version, "record" → JSON RoomRecord,
--                                                "rv" → SHA-1 of the record (room-message-4 reports it),
--                                                "vcard" → the room's vCard (XML)
-- KEYS[2]  <p>:v1:room:{<room>}:occupants  hash nick → JSON Occupant {nick, bare, role, sessions: [{jid, node, presence}]}
-- KEYS[3]  <p>:v1:room:{<room>}:reals      hash real full JID → JSON [nick, node]
-- KEYS[4]  <p>:v1:room:{<room>}:history    list JSON HistoryEntry
-- ARGV[1]  the version the decision saw (0: no room)
-- ARGV[2]  the new record as JSON, or '' to keep it
-- ARGV[3]  '1' destroys the room (every key above)
-- ARGV[4]  the room's vCard: '' keeps it, '-' removes it, anything else (XML) replaces it
-- ARGV[5]  n, the number of nicks to remove; ARGV[6 .. 5+n] those nicks
-- ARGV[6+n ..]  pairs nick, JSON Occupant to put
-- Returns  the new version (0 after a destroy); -1 when the room changed meanwhile (decide
--          again); -2 when a stored occupant cannot be decoded; -3 when an argument cannot.
local seen = tonumber(ARGV[1])
local removes = tonumber(ARGV[5])
if not seen or not removes then return -3 end
local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if version ~= seen then return -1 end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  return 0
end
if ARGV[2] == '' and version == 0 then return -3 end

local function forget(nick)
  local old = redis.call('HGET', KEYS[2], nick)
  if not old then return true end
  local ok, occupant = pcall(cjson.decode, old)
  if not ok or type(occupant.sessions) ~= 'table' then return false end
  for _, session in ipairs(occupant.sessions) do
    local owner = redis.call('HGET', KEYS[3], session.jid)
    -- Only this nick's entry: the JID may meanwhile be under another nick put by this change.
    if owner then
      local decoded = cjson.decode(owner)
      if decoded[1] == nick then redis.call('HDEL', KEYS[3], session.jid) end
    end
  end
  redis.call('HDEL', KEYS[2], nick)
  return true
end

for i = 6, 5 + removes do
  if not forget(ARGV[i]) then return -2 end
end
for i = 6 + removes, #ARGV - 1, 2 do
  local nick, json = ARGV[i], ARGV[i + 1]
  local ok, occupant = pcall(cjson.decode, json)
  if not ok or type(occupant.sessions) ~= 'table' then return -3 end
  if not forget(nick) then return -2 end
  redis.call('HSET', KEYS[2], nick, json)
  for _, session in ipairs(occupant.sessions) do
    redis.call('HSET', KEYS[3], session.jid, cjson.encode({ nick, session.node }))
  end
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'record', ARGV[2], 'rv', redis.sha1hex(ARGV[2])) end
if ARGV[4] == '-' then
  redis.call('HDEL', KEYS[1], 'vcard')
elseif ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'vcard', ARGV[4])
end
version = version + 1
redis.call('HSET', KEYS[1], 'v', version)
return version
