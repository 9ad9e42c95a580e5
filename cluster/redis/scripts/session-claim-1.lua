-- session-claim-1: stores a session record, returning the one it replaced.
-- KEYS[1]  <p>:v1:{<bare>}:sessions  hash full JID → JSON record
-- ARGV[1]  full JID
-- ARGV[2]  the new record as JSON
-- Returns  the replaced record's JSON, or nil when there was none.
-- The node index and the session counter live in other slots: the caller updates them after.
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return old
