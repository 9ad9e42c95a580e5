-- component-claim-1: takes a component domain for a connection, unless another holds it.
-- KEYS[1]  <p>:v1:components  hash  domain → JSON {"node":…,"connection":…}
-- ARGV[1]  the component domain
-- ARGV[2]  the new holder as JSON (the adapter writes the fields in one order)
-- ARGV[3]  the holder it may replace, as JSON, or '' for none
-- Returns  1 when claimed; otherwise the JSON of the holder that keeps the domain.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and current ~= ARGV[2] and current ~= ARGV[3] then return current end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
