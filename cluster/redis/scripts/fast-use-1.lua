-- fast-use-1: records one use of a device's FAST token (XEP-0484 count, state/fast-tokens.ts applyUse).
-- KEYS[1]  <p>:v1:{<bare>}:fast  hash device → JSON {current?, previous?} of FastToken
-- ARGV[1]  the device
-- ARGV[2]  'current' or 'previous'
-- ARGV[3]  the token's secret as presented
-- ARGV[4]  the count the client sent, or '' for none (then one above the stored count)
-- ARGV[5]  now, milliseconds since the epoch
-- A use of the current token forgets the previous one.
-- Returns  1 when accepted; -1 when the token is gone, expired, another one, or the count is not
--          above the stored count; -2 when the stored value cannot be decoded; -3 for a bad argument.
local now = tonumber(ARGV[5])
if not now or (ARGV[2] ~= 'current' and ARGV[2] ~= 'previous') then return -3 end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return -1 end
local ok, tokens = pcall(cjson.decode, raw)
if not ok or type(tokens) ~= 'table' then return -2 end
local token = tokens[ARGV[2]]
if type(token) ~= 'table' or token.secret ~= ARGV[3] or token.expiresAt <= now then return -1 end
local count = token.count + 1
if ARGV[4] ~= '' then count = tonumber(ARGV[4]) end
if not count then return -3 end
if count <= token.count then return -1 end
token.count = count
if ARGV[2] == 'current' then tokens = { current = token } else tokens.previous = token end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(tokens))
return 1
