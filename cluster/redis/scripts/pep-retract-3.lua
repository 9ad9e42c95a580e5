-- pep-retract-3: removes one item of a PEP node.
-- KEYS[1]  <p>:v1:{<bare>}:pepmeta   KEYS[2] the node's items   KEYS[3] the node's order
-- ARGV[1]  item id
-- Returns  1 when removed, 0 when there was no such item.
local xml = redis.call('HGET', KEYS[2], ARGV[1])
if not xml then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'bytes', -#xml)
return 1
