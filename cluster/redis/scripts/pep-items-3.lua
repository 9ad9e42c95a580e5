-- pep-items-3: reads a PEP node's configuration and items in one round trip.
-- KEYS[1]  <p>:v1:{<bare>}:pep   KEYS[2] the node's items   KEYS[3] the node's order
-- ARGV[1]  node   ARGV[2] newest items wanted (-1: all)   ARGV[3…] item ids wanted (then ARGV[2] is ignored)
-- Returns  {JSON configuration, id, XML, id, XML…} newest first (or in the order of ARGV[3…]);
--          -1 when the node does not exist.
local config = redis.call('HGET', KEYS[1], ARGV[1])
if not config then return -1 end
local reply = {config}
local ids
if #ARGV > 2 then
  ids = {}
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  local max = tonumber(ARGV[2]) or -1
  if max == 0 then return reply end
  ids = redis.call('ZREVRANGE', KEYS[3], 0, max < 0 and -1 or max - 1)
end
for _, id in ipairs(ids) do
  local xml = redis.call('HGET', KEYS[2], id)
  if xml then
    reply[#reply + 1] = id
    reply[#reply + 1] = xml
  end
end
return reply
