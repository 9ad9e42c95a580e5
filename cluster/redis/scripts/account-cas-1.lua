-- account-cas-1: replaces the credentials of an account only if they are still the expected ones
-- (compare-and-set; used to add keys derived at login without undoing a racing password change).
-- KEYS[1]  <p>:v1:{<bare>}:account
-- ARGV[1]  schema version of the record ("1"): a record of another version is never replaced
-- ARGV[2]  expected JSON ScramKeys for SHA-1
-- ARGV[3]  expected JSON ScramKeys for SHA-256
-- ARGV[4]  new JSON ScramKeys for SHA-1
-- ARGV[5]  new JSON ScramKeys for SHA-256
-- Returns  1 when replaced; -1 when the account does not exist, has another record version, or its
--          keys differ from the expected ones; -2 when a stored field cannot be decoded; -3 when an
--          expected field cannot be decoded.
-- Keys are compared field by field after decoding, so the JSON spelling (key order, spaces) of an
-- older writer does not matter.
local stored = redis.call('HMGET', KEYS[1], 'v', 'SHA-1', 'SHA-256')
if not stored[1] then return -1 end
if stored[1] ~= ARGV[1] then return -1 end

local function decode(text)
  if not text then return nil end
  local ok, value = pcall(cjson.decode, text)
  if not ok or type(value) ~= 'table' then return nil end
  return value
end

local function same(a, b)
  return a.salt == b.salt and a.iterations == b.iterations and a.storedKey == b.storedKey and a.serverKey == b.serverKey
end

for i = 1, 2 do
  local expected = decode(ARGV[1 + i])
  if not expected then return -3 end
  local current = decode(stored[1 + i])
  if not current then return -2 end
  if not same(current, expected) then return -1 end
end

redis.call('HSET', KEYS[1], 'v', ARGV[1], 'SHA-1', ARGV[4], 'SHA-256', ARGV[5])
return 1
