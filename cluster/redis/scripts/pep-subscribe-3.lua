-- pep-subscribe-3: adds a JID to the explicit subscribers of a PEP node (XEP-0060 §6.1), and
-- sets its subscription options (§6.3) when given.
-- KEYS[1]  <p>:v1:{<bare>}:pep        hash   node → JSON configuration (the node must exist)
-- KEYS[2]  <p>:v1:{<bare>}:pepsubs    hash   node → JSON array of subscribed JIDs
-- KEYS[3]  <p>:v1:{<bare>}:pepsubopts hash   node NUL JID → JSON subscription options (absent: the defaults)
-- ARGV[1]  node   ARGV[2] JID   ARGV[3] subscribers a node may have
-- ARGV[4]  "keep" (a new subscription gets the defaults, an existing one keeps its options),
--          "" (the defaults) or JSON options
-- Returns  1 when subscribed (or already), 0 when the node does not exist, 2 when the node has
--          ARGV[3] subscribers already, -2 when the stored list cannot be decoded, -3 for bad ARGV.
local limit = tonumber(ARGV[3])
if not limit then return -3 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local field = ARGV[1] .. '\0' .. ARGV[2]
local function set_options()
  if ARGV[4] == 'keep' then return end
  if ARGV[4] == '' then redis.call('HDEL', KEYS[3], field) else redis.call('HSET', KEYS[3], field, ARGV[4]) end
end
local stored = redis.call('HGET', KEYS[2], ARGV[1])
local list = {}
if stored then
  local ok, decoded = pcall(cjson.decode, stored)
  if not ok or type(decoded) ~= 'table' then return -2 end
  list = decoded
end
for _, jid in ipairs(list) do
  if jid == ARGV[2] then
    set_options()
    return 1
  end
end
if #list >= limit then return 2 end
list[#list + 1] = ARGV[2]
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(list))
-- Options a subscription left behind (written by a node of the previous release) do not carry over.
redis.call('HDEL', KEYS[3], field)
set_options()
return 1
