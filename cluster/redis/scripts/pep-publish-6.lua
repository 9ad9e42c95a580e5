-- pep-publish-6: publishes one item to a PEP node (XEP-0163), creating the node when missing,
-- within the account's limits; the oldest items beyond the node's max_items go. Also answers the
-- node's explicit subscribers and their options, so the notification needs no second read.
-- KEYS[1]  <p>:v1:{<bare>}:pep              hash   node → JSON configuration
-- KEYS[2]  <p>:v1:{<bare>}:pepmeta          hash   "seq" (publish counter), "bytes" (all items)
-- KEYS[3]  <p>:v1:{<bare>}:pepi:<node>      hash   item id → XML
-- KEYS[4]  <p>:v1:{<bare>}:pepo:<node>      zset   item id by seq (publish order)
-- KEYS[5]  <p>:v1:{<bare>}:pepsubs          hash   node → JSON array of subscribed JIDs
-- KEYS[6]  <p>:v1:{<bare>}:pepsubopts       hash   node NUL JID → JSON subscription options (absent: the defaults)
-- ARGV[1]  node   ARGV[2] item id   ARGV[3] item XML (its size was checked by the caller)
-- ARGV[4]  JSON configuration of a new node   ARGV[5] JSON preconditions for an existing one
-- ARGV[6]  nodes the account may hold   ARGV[7] items a node may hold   ARGV[8] bytes in all
-- Returns  {1, created (0/1), JSON configuration, JSON subscribers ('' for none), JSON array of
--          subscriber, options pairs for those with options ('' for none), trimmed ids…}; 2 when the node is new and
--          the account full of nodes; 3 when a precondition is not met; 4 when the bytes in all
--          would exceed ARGV[8]; -2 when a stored configuration cannot be decoded; -3 for bad ARGV.
local max_nodes, items_per_node, total = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if not (max_nodes and items_per_node and total) then return -3 end
local stored = redis.call('HGET', KEYS[1], ARGV[1])
local created = 0
local config_json = stored
if not stored then
  if redis.call('HLEN', KEYS[1]) >= max_nodes then return 2 end
  created = 1
  config_json = ARGV[4]
end
local ok, config = pcall(cjson.decode, config_json)
if not ok or type(config) ~= 'table' then return stored and -2 or -3 end
if stored then
  local pok, pre = pcall(cjson.decode, ARGV[5])
  if not pok or type(pre) ~= 'table' then return -3 end
  for field, value in pairs(pre) do
    if config[field] ~= value then return 3 end
  end
end
local keep = tonumber(config.max_items) or 1
if config.persist_items == false then keep = 1 end
keep = math.max(1, math.min(keep, items_per_node))
-- The items that stay besides the new one: the newest keep - 1 others.
local order = redis.call('ZRANGE', KEYS[4], 0, -1)
local others = {}
for _, id in ipairs(order) do
  if id ~= ARGV[2] then others[#others + 1] = id end
end
local trimmed = {}
local bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0') + #ARGV[3]
local old = redis.call('HGET', KEYS[3], ARGV[2])
if old then bytes = bytes - #old end
for i = 1, #others - (keep - 1) do
  trimmed[#trimmed + 1] = others[i]
  local xml = redis.call('HGET', KEYS[3], others[i])
  if xml then bytes = bytes - #xml end
end
if bytes > total then return 4 end
if created == 1 then redis.call('HSET', KEYS[1], ARGV[1], config_json) end
for _, id in ipairs(trimmed) do
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('HSET', KEYS[2], 'bytes', bytes)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[4], seq, ARGV[2])
local subscribers = redis.call('HGET', KEYS[5], ARGV[1]) or ''
local options = ''
if subscribers ~= '' then
  local dok, list = pcall(cjson.decode, subscribers)
  if dok and type(list) == 'table' and #list > 0 then
    local fields = {}
    for i, jid in ipairs(list) do fields[i] = ARGV[1] .. '\0' .. jid end
    local stored = redis.call('HMGET', KEYS[6], unpack(fields))
    local pairs_ = {}
    for i, jid in ipairs(list) do
      if stored[i] then pairs_[#pairs_ + 1] = jid; pairs_[#pairs_ + 1] = stored[i] end
    end
    if #pairs_ > 0 then options = cjson.encode(pairs_) end
  end
end
local reply = {1, created, config_json, subscribers, options}
for _, id in ipairs(trimmed) do reply[#reply + 1] = id end
return reply
