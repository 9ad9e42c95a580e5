-- pep-configure-4: replaces a PEP node's configuration; items beyond the new size go.
-- KEYS[1..4] as pep-publish-4 (configurations, meta, the node's items, its order)
-- ARGV[1]  node   ARGV[2] JSON configuration   ARGV[3] items the node keeps now (≥ 1)
-- Returns  {1, trimmed ids…}; -1 when the node does not exist; -3 for bad ARGV.
local keep = tonumber(ARGV[3])
if not keep or keep < 1 then return -3 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local order = redis.call('ZRANGE', KEYS[4], 0, -1)
local reply = {1}
local freed = 0
for i = 1, #order - keep do
  local xml = redis.call('HGET', KEYS[3], order[i])
  if xml then freed = freed + #xml end
  redis.call('HDEL', KEYS[3], order[i])
  redis.call('ZREM', KEYS[4], order[i])
  reply[#reply + 1] = order[i]
end
if freed > 0 then redis.call('HINCRBY', KEYS[2], 'bytes', -freed) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return reply
