-- push-claim-2: the once-per-event rule of push notifications: the first caller for an event
-- gets the account's registrations, every later one (any node, within the TTL) gets nothing.
-- KEYS[1]  <p>:v1:{<bare>}:push         hash    the account's registrations
-- KEYS[2]  <p>:v1:{<bare>}:push:ev:<id>  string  set once the event is claimed (expires)
-- ARGV[1]  how long the claim is kept, in ms (a positive integer)
-- Returns  the registrations (JSON values) for the caller that claimed the event; an empty
--          list when the account has none (nothing is claimed then); -1 when it was claimed
--          already; -3 when the TTL is not a number.
local ttl = tonumber(ARGV[1])
if not ttl then return -3 end
if redis.call('HLEN', KEYS[1]) == 0 then return {} end
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ttl) then return -1 end
return redis.call('HVALS', KEYS[1])
