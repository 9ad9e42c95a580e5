-- session-claim-1: stores a session record, returning the one it replaced.
-- KEYS[1]  <p>:v1:{<bare>}:sessions  hash full JID → JSON record
-- ARGV[1]  full JID
-- ARGV[2]  the new record as JSON
-- ARGV[3]  optional: the most records the account may have ('' or absent: no limit); a claim of a
--          full JID the account does not hold yet is refused when it has that many already
-- ARGV[4]  optional: the change-notice channel, ARGV[5] the notice; published after the write
--          (absent on Redis Cluster, whose sharded channel the caller publishes to itself)
-- Returns  the replaced record's JSON, or nil when there was none; -1 when refused by the limit.
-- The node index and the session counter live in other slots: the caller updates them.
local old = redis.call('HGET', KEYS[1], ARGV[1])
local limit = tonumber(ARGV[3] or '')
if not old and limit and redis.call('HLEN', KEYS[1]) >= limit then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return old
