-- room-list-2: puts one room in its domain's directory, or takes it out (state/muc.ts `listed`).
-- KEYS[1]  <p>:v1:mucdir:{<domain>}:rooms  zset room JID, score 0 (ordered by JID)
-- KEYS[2]  <p>:v1:mucdir:{<domain>}:names  hash room JID → name
-- ARGV[1]  the room JID
-- ARGV[2]  '1' lists it, '0' takes it out
-- ARGV[3]  its name ('' for none)
-- Returns  1
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[1], 0, ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
