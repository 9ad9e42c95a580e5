-- pep-subscribe-2: adds a JID to the explicit subscribers of a PEP node (XEP-0060 §6.1).
-- KEYS[1]  <p>:v1:{<bare>}:pep       hash   node → JSON configuration (the node must exist)
-- KEYS[2]  <p>:v1:{<bare>}:pepsubs   hash   node → JSON array of subscribed JIDs
-- ARGV[1]  node   ARGV[2] JID   ARGV[3] subscribers a node may have
-- Returns  1 when subscribed (or already), 0 when the node does not exist, 2 when the node has
--          ARGV[3] subscribers already, -2 when the stored list cannot be decoded, -3 for bad ARGV.
local limit = tonumber(ARGV[3])
if not limit then return -3 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local stored = redis.call('HGET', KEYS[2], ARGV[1])
local list = {}
if stored then
  local ok, decoded = pcall(cjson.decode, stored)
  if not ok or type(decoded) ~= 'table' then return -2 end
  list = decoded
end
for _, jid in ipairs(list) do
  if jid == ARGV[2] then return 1 end
end
if #list >= limit then return 2 end
list[#list + 1] = ARGV[2]
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(list))
return 1
