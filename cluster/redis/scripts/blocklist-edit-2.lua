-- blocklist-edit-2: adds or removes blocklist items and takes the next blocklist version.
-- KEYS[1]  <p>:v1:{<bare>}:blocklist  set of blocked JIDs
-- KEYS[2]  <p>:v1:{<bare>}:blockver   string version
-- ARGV[1]  'add' or 'remove'
-- ARGV[2…] the JIDs; 'remove' with none clears the list
-- Returns  { version, JID… }: the version this edit took (>= 1) and the list after it.
--          The version is taken even when nothing changed, so versions order every edit.
--          -3 when ARGV[1] is neither verb.
local verb = ARGV[1]
if verb ~= 'add' and verb ~= 'remove' then return -3 end
local count = #ARGV - 1
if verb == 'add' then
  for i = 2, #ARGV, 5000 do
    redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 4999, #ARGV)))
  end
elseif count == 0 then
  redis.call('DEL', KEYS[1])
else
  for i = 2, #ARGV, 5000 do
    redis.call('SREM', KEYS[1], unpack(ARGV, i, math.min(i + 4999, #ARGV)))
  end
end
local reply = { redis.call('INCR', KEYS[2]) }
for _, jid in ipairs(redis.call('SMEMBERS', KEYS[1])) do reply[#reply + 1] = jid end
return reply
