-- offline-store-1: appends a message to an offline queue unless it is full.
-- KEYS[1]  <p>:v1:{<bare>}:offline  list of JSON messages
-- ARGV[1]  limit: a positive integer, or '' for no limit
-- ARGV[2]  the message as JSON {"v":1,"xml":…,"stamp":…}
-- Returns  the new queue length; -1 when the queue already holds `limit` messages;
--          -3 when the limit is not a number.
if ARGV[1] ~= '' then
  local limit = tonumber(ARGV[1])
  if not limit then return -3 end
  if redis.call('LLEN', KEYS[1]) >= limit then return -1 end
end
return redis.call('RPUSH', KEYS[1], ARGV[2])
