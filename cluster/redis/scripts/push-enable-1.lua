-- push-enable-1: stores a push registration (XEP-0357), dropping the oldest past the limit.
-- KEYS[1]  <p>:v1:{<bare>}:push  hash  "<jid>\n<node>" → JSON PushRegistration (with "since")
-- ARGV[1]  the registration's field
-- ARGV[2]  the registration as JSON
-- ARGV[3]  the most registrations the account may hold (a positive integer)
-- Returns  the number of registrations kept; -2 when a stored one cannot be decoded; -3 when
--          the limit is not a number.
local max = tonumber(ARGV[3])
if not max then return -3 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local count = redis.call('HLEN', KEYS[1])
while count > max do
  local entries = redis.call('HGETALL', KEYS[1])
  local oldest, oldestSince = nil, nil
  for i = 1, #entries, 2 do
    if entries[i] ~= ARGV[1] then
      local ok, record = pcall(cjson.decode, entries[i + 1])
      if not ok or type(record) ~= 'table' or type(record.since) ~= 'number' then return -2 end
      if oldestSince == nil or record.since < oldestSince then
        oldest, oldestSince = entries[i], record.since
      end
    end
  end
  if oldest == nil then break end
  redis.call('HDEL', KEYS[1], oldest)
  count = count - 1
end
return count
