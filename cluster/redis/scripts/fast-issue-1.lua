-- fast-issue-1: issues a FAST token (XEP-0484) for one device of an account (state/fast-tokens.ts).
-- KEYS[1]  <p>:v1:{<bare>}:fast  hash device → JSON {current?, previous?} of FastToken
-- ARGV[1]  the device (a hash of the user-agent id)
-- ARGV[2]  the new token, JSON FastToken
-- ARGV[3]  the most devices the account may hold, a positive integer
-- ARGV[4]  now, milliseconds since the epoch
-- The device's unexpired current token becomes its previous one; devices whose tokens have all
-- expired are removed, and when the account still holds ARGV[3] other devices, those whose tokens
-- expire first. The hash expires with the last token left in it (a secret is kept no longer
-- than it can be used).
-- Returns  1; -2 when a stored value cannot be decoded; -3 when an argument cannot.
local max, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local decoded, token = pcall(cjson.decode, ARGV[2])
if not max or not now or not decoded or type(token) ~= 'table' or type(token.expiresAt) ~= 'number' then return -3 end
local function expiry(tokens)
  local latest = 0
  if type(tokens.current) == 'table' and tokens.current.expiresAt > latest then latest = tokens.current.expiresAt end
  if type(tokens.previous) == 'table' and tokens.previous.expiresAt > latest then latest = tokens.previous.expiresAt end
  return latest
end
local nextTokens = { current = token }
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local ok, tokens = pcall(cjson.decode, raw)
  if not ok or type(tokens) ~= 'table' then return -2 end
  if type(tokens.current) == 'table' and tokens.current.expiresAt > now then nextTokens.previous = tokens.current end
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local others = redis.call('HGETALL', KEYS[1])
local keep = math.max(0, max - 1)
local order = {}
for i = 1, #others, 2 do
  local ok, tokens = pcall(cjson.decode, others[i + 1])
  local expires = (ok and type(tokens) == 'table') and expiry(tokens) or 0
  if expires <= now then redis.call('HDEL', KEYS[1], others[i]) else order[#order + 1] = { others[i], expires } end
end
table.sort(order, function(a, b) return a[2] < b[2] end)
for i = 1, #order - keep do redis.call('HDEL', KEYS[1], order[i][1]) end
local latest = expiry(nextTokens)
for i = math.max(1, #order - keep + 1), #order do
  if order[i][2] > latest then latest = order[i][2] end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(nextTokens))
local wanted = math.floor(latest - now)
if wanted > 0 then redis.call('PEXPIRE', KEYS[1], wanted) else redis.call('DEL', KEYS[1]) end
return 1
