-- offline-store-2: appends a message to an offline queue unless the queue already holds a message
-- with its stanza identity, or is full.
-- KEYS[1]  <p>:v1:{<bare>}:offline      list of JSON messages
-- KEYS[2]  <p>:v1:{<bare>}:offline-ids  set of the stanza identities held
-- ARGV[1]  limit: a positive integer, or '' for no limit
-- ARGV[2]  the message as JSON {"v":1,"xml":…,"stamp":…,"id":…}
-- ARGV[3]  its stanza identity, or '' when it has none
-- Returns  the queue length (unchanged for a message already held); -1 when the queue already
--          holds `limit` messages; -3 when the limit is not a number.
if ARGV[3] ~= '' and redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return redis.call('LLEN', KEYS[1]) end
if ARGV[1] ~= '' then
  local limit = tonumber(ARGV[1])
  if not limit then return -3 end
  if redis.call('LLEN', KEYS[1]) >= limit then return -1 end
end
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[3])
  -- A release that takes the queue without this set leaves it behind: it goes by itself.
  redis.call('EXPIRE', KEYS[2], 2592000)
end
return redis.call('RPUSH', KEYS[1], ARGV[2])
