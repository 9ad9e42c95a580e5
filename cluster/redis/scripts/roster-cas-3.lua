-- roster-cas-3: compare-and-set of one contact's roster entry, taking the next roster version.
-- KEYS[1]  <p>:v1:{<bare>}:roster     hash contact → encoded item
-- KEYS[2]  <p>:v1:{<bare>}:pending    hash contact → pending inbound stanza
-- KEYS[3]  <p>:v1:{<bare>}:rosterver  string version
-- ARGV[1]  contact bare JID
-- ARGV[2]  expected item, ARGV[3] expected pending stanza,
-- ARGV[4]  next item,     ARGV[5] next pending stanza.
--          Each value is '' when absent, or '=' followed by the stored string when present
--          (so an empty stanza and no stanza differ).
-- Returns  the new roster version (>= 1); -1 when the stored entry differs from the expected one.
local function current(key, field)
  local value = redis.call('HGET', key, field)
  if value then return '=' .. value end
  return ''
end

local function put(key, field, value)
  if value == '' then
    redis.call('HDEL', key, field)
  else
    redis.call('HSET', key, field, string.sub(value, 2))
  end
end

local contact = ARGV[1]
if current(KEYS[1], contact) ~= ARGV[2] or current(KEYS[2], contact) ~= ARGV[3] then return -1 end
put(KEYS[1], contact, ARGV[4])
put(KEYS[2], contact, ARGV[5])
return redis.call('INCR', KEYS[3])
