-- room-page-2: one page of a domain's directory of rooms (state/muc.ts DirectoryQuery), with the
-- position of its first room and the number of rooms listed, read at one instant.
-- KEYS[1]  <p>:v1:mucdir:{<domain>}:rooms  zset room JID, score 0 (ordered by JID)
-- KEYS[2]  <p>:v1:mucdir:{<domain>}:names  hash room JID → name
-- ARGV[1]  the most rooms returned (≥ 0)
-- ARGV[2]  'after' (ARGV[3] a JID), 'before' (ARGV[3] a JID, or '' for the last page), or 'index' (ARGV[3] a position ≥ 0)
-- ARGV[3]  as ARGV[2] says
-- Returns  {count, index of the first, jid1, name1, jid2, name2, …}; -3 when an argument is wrong.
local max = tonumber(ARGV[1])
if not max or max < 0 then return -3 end
local count = redis.call('ZCARD', KEYS[1])
local jids = {}
local first = 0
if ARGV[2] == 'after' then
  first = redis.call('ZLEXCOUNT', KEYS[1], '-', '[' .. ARGV[3])
  if max > 0 then jids = redis.call('ZRANGEBYLEX', KEYS[1], '(' .. ARGV[3], '+', 'LIMIT', 0, max) end
elseif ARGV[2] == 'before' then
  local below = count
  if ARGV[3] ~= '' then below = redis.call('ZLEXCOUNT', KEYS[1], '-', '(' .. ARGV[3]) end
  first = math.max(0, below - max)
  if below > first then jids = redis.call('ZRANGE', KEYS[1], first, below - 1) end
elseif ARGV[2] == 'index' then
  first = tonumber(ARGV[3])
  if not first or first < 0 then return -3 end
  first = math.min(first, count)
  if max > 0 and first < count then jids = redis.call('ZRANGE', KEYS[1], first, first + max - 1) end
else
  return -3
end
local reply = { count, first }
if #jids > 0 then
  local names = redis.call('HMGET', KEYS[2], unpack(jids))
  for i = 1, #jids do
    reply[#reply + 1] = jids[i]
    reply[#reply + 1] = names[i] or ''
  end
end
return reply
