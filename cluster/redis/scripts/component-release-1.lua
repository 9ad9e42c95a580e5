-- component-release-1: gives a component domain up, only if this holder still holds it.
-- KEYS[1]  <p>:v1:components  hash  domain → JSON holder
-- ARGV[1]  the component domain
-- ARGV[2]  the holder as JSON
-- Returns  1 when released; -1 when the domain is held by another or by none.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
