-- sm-detach-1: marks a managed stream detached (its connection is gone), optionally only while a
-- given node still owns it.
-- KEYS[1]  <p>:v1:{<bare>}:sm:<token>   hash of the stream's record
-- ARGV[1]  the new owner: the node keeping the stream (hibernation), or '' when no node does (parked)
-- ARGV[2]  inbound: the server's handled count (kept if lower than the stored one)
-- ARGV[3]  when it detached (ms)
-- ARGV[4]  the owner the caller expects; '*' detaches whoever owns it
-- Returns  1; -1 when the stream is unknown or owned by another node than expected; -3 for
--          non-numeric arguments.
local inbound = tonumber(ARGV[2])
local at = tonumber(ARGV[3])
if not inbound or not at then return -3 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[4] ~= '*' and redis.call('HGET', KEYS[1], 'owner') ~= ARGV[4] then return -1 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'detached_at', ARGV[3])
if inbound > (tonumber(redis.call('HGET', KEYS[1], 'inbound')) or 0) then redis.call('HSET', KEYS[1], 'inbound', ARGV[2]) end
return 1
