-- room-message-4: checks that the sender of a groupchat message is an occupant with voice,
-- appends the message to the history, and returns every occupant's real JID, nick and node,
-- all in one step (state/muc.ts MucStore.message), with the token of the room's record.
-- KEYS[1]  <p>:v1:room:{<room>}:state      hash "v", "record", "rv" (SHA-1 of the record)
-- KEYS[2]  <p>:v1:room:{<room>}:occupants  hash nick → JSON Occupant
-- KEYS[3]  <p>:v1:room:{<room>}:reals      hash real full JID → JSON [nick, node]
-- KEYS[4]  <p>:v1:room:{<room>}:history    list JSON HistoryEntry
-- ARGV[1]  the sender's real full JID
-- ARGV[2]  the HistoryEntry as JSON (its nick and v, the room's version, are set here)
-- ARGV[3]  the most entries the history keeps
-- Returns  {'no-room'} | {'not-occupant'} | {'no-voice'} | {'ok', nick, rv, real1, [nick, node]1, …};
--          -2 when a stored value cannot be decoded; -3 when an argument cannot.
local limit = tonumber(ARGV[3])
if not limit then return -3 end
if redis.call('HEXISTS', KEYS[1], 'record') == 0 then return { 'no-room' } end
local owner = redis.call('HGET', KEYS[3], ARGV[1])
if not owner then return { 'not-occupant' } end
local ok, entry = pcall(cjson.decode, owner)
if not ok then return -2 end
local nick = entry[1]
local json = redis.call('HGET', KEYS[2], nick)
if not json then return { 'not-occupant' } end
local decoded, occupant = pcall(cjson.decode, json)
if not decoded then return -2 end
if occupant.role ~= 'moderator' and occupant.role ~= 'participant' then return { 'no-voice' } end
local parsed, history = pcall(cjson.decode, ARGV[2])
if not parsed then return -3 end
if limit > 0 then
  history.nick = nick
  -- The room's version: a newcomer committed at a version no higher got this message live.
  history.v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
  redis.call('RPUSH', KEYS[4], cjson.encode(history))
  redis.call('LTRIM', KEYS[4], -limit, -1)
else
  redis.call('DEL', KEYS[4])
end
-- A room last committed by a release before "rv" has its token computed here (once per message).
local rv = redis.call('HGET', KEYS[1], 'rv') or redis.sha1hex(redis.call('HGET', KEYS[1], 'record'))
local reply = { 'ok', nick, rv }
local reals = redis.call('HGETALL', KEYS[3])
for i = 1, #reals do reply[#reply + 1] = reals[i] end
return reply
