-- pep-purge-6: removes every item of a PEP node (XEP-0060 §8.5), and with ARGV[2] = "1" the
-- node itself with its subscriptions and their options (§8.4).
-- KEYS[1..6] as pep-publish-6 (configurations, meta, the node's items, its order, subscriptions, their options)
-- ARGV[1]  node   ARGV[2] "1" to delete the node, "0" to purge it
-- Returns  1 when done, 0 when the node does not exist.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local freed = 0
for _, xml in ipairs(redis.call('HVALS', KEYS[3])) do freed = freed + #xml end
redis.call('DEL', KEYS[3], KEYS[4])
if freed > 0 then redis.call('HINCRBY', KEYS[2], 'bytes', -freed) end
if ARGV[2] == '1' then
  local subscribers = redis.call('HGET', KEYS[5], ARGV[1])
  if subscribers then
    local ok, list = pcall(cjson.decode, subscribers)
    if ok and type(list) == 'table' then
      for _, jid in ipairs(list) do redis.call('HDEL', KEYS[6], ARGV[1] .. '\0' .. jid) end
    end
  end
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[5], ARGV[1])
end
return 1
