-- pep-purge-5: removes every item of a PEP node (XEP-0060 §8.5), and with ARGV[2] = "1" the
-- node itself with its subscriptions (§8.4).
-- KEYS[1..5] as pep-publish-5 (configurations, meta, the node's items, its order, subscriptions)
-- ARGV[1]  node   ARGV[2] "1" to delete the node, "0" to purge it
-- Returns  1 when done, 0 when the node does not exist.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local freed = 0
for _, xml in ipairs(redis.call('HVALS', KEYS[3])) do freed = freed + #xml end
redis.call('DEL', KEYS[3], KEYS[4])
if freed > 0 then redis.call('HINCRBY', KEYS[2], 'bytes', -freed) end
if ARGV[2] == '1' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[5], ARGV[1])
end
return 1
