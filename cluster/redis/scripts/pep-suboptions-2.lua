-- pep-suboptions-2: replaces the subscription options (XEP-0060 §6.3) of an explicit subscriber
-- of a PEP node.
-- KEYS[1]  <p>:v1:{<bare>}:pepsubs    hash   node → JSON array of subscribed JIDs
-- KEYS[2]  <p>:v1:{<bare>}:pepsubopts hash   node NUL JID → JSON subscription options (absent: the defaults)
-- ARGV[1]  node   ARGV[2] JID   ARGV[3] JSON options, or "" for the defaults
-- Returns  1 when set, 0 when the JID is not subscribed, -2 when the stored list cannot be decoded.
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then return 0 end
local ok, list = pcall(cjson.decode, stored)
if not ok or type(list) ~= 'table' then return -2 end
for _, jid in ipairs(list) do
  if jid == ARGV[2] then
    local field = ARGV[1] .. '\0' .. ARGV[2]
    if ARGV[3] == '' then redis.call('HDEL', KEYS[2], field) else redis.call('HSET', KEYS[2], field, ARGV[3]) end
    return 1
  end
end
return 0
