-- pep-unsubscribe-2: removes a JID from the explicit subscribers of a PEP node (XEP-0060 §6.2),
-- with its subscription options.
-- KEYS[1]  <p>:v1:{<bare>}:pepsubs    hash   node → JSON array of subscribed JIDs
-- KEYS[2]  <p>:v1:{<bare>}:pepsubopts hash   node NUL JID → JSON subscription options
-- ARGV[1]  node   ARGV[2] JID
-- Returns  1 when removed, 0 when it was not subscribed, -2 when the stored list cannot be decoded.
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then return 0 end
local ok, list = pcall(cjson.decode, stored)
if not ok or type(list) ~= 'table' then return -2 end
local kept, found = {}, false
for _, jid in ipairs(list) do
  if jid == ARGV[2] then found = true else kept[#kept + 1] = jid end
end
if not found then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1] .. '\0' .. ARGV[2])
-- An empty Lua table would encode as {}: the last one out removes the field.
if #kept == 0 then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(kept)) end
return 1
