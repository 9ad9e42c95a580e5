-- pep-create-1: creates an empty PEP node unless it exists or the account holds enough nodes.
-- KEYS[1]  <p>:v1:{<bare>}:pep   hash node → JSON configuration
-- ARGV[1]  node   ARGV[2] JSON configuration   ARGV[3] nodes the account may hold
-- Returns  1 created; 0 it exists; 2 the account holds ARGV[3] nodes; -3 for bad ARGV.
local limit = tonumber(ARGV[3])
if not limit then return -3 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[1]) >= limit then return 2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
