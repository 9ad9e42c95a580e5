-- personal-set-1: stores one personal XML item (vCard or private XML) unless the account is full.
-- KEYS[1]  <p>:v1:{<bare>}:personal  hash key → XML
-- ARGV[1]  the item's key (state/personal.ts personalKey)
-- ARGV[2]  the item as XML (its size was checked by the caller)
-- ARGV[3]  the most items the account may hold, a non-negative integer
-- Returns  1 when stored; -1 when the key is new and the account already holds ARGV[3] items;
--          -3 when the limit is not a number.
local limit = tonumber(ARGV[3])
if not limit then return -3 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= limit then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
