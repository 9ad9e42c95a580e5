-- session-reassert-1: writes back a live session's record after Redis lost it (or part of it).
-- KEYS[1]  <p>:v1:{<bare>}:sessions  hash full JID → JSON record
-- ARGV[1]  full JID
-- ARGV[2]  the record as JSON (the owning node's own view of it)
-- ARGV[3]  its session_id
-- ARGV[4]  optional: the change-notice channel, ARGV[5] the notice; published after the write
-- Returns  1 when the record was missing and is now written, 0 when the same bind's record was
--          there (it is overwritten with the node's view); -1 when another bind holds the full JID
--          (the caller's session was replaced meanwhile); -2 when the stored record cannot be decoded.
-- The node index and the session counter live in other slots: the caller updates them after.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  if ARGV[4] and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
  return 1
end
local ok, record = pcall(cjson.decode, raw)
if not ok or type(record) ~= 'table' then return -2 end
if record.session_id ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 0
