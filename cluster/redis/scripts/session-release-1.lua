-- session-release-1: removes a session record while it still carries the caller's session_id.
-- KEYS[1]  <p>:v1:{<bare>}:sessions  hash full JID → JSON record
-- ARGV[1]  full JID
-- ARGV[2]  the caller's session_id
-- ARGV[3]  optional: the change-notice channel, ARGV[4] the notice; published after the write
-- Returns  the removed record's JSON; -1 when there is no record or it carries another
--          session_id; -2 when the stored record cannot be decoded.
-- The node index and the session counter live in other slots: the caller updates them after.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return -1 end
local ok, record = pcall(cjson.decode, raw)
if not ok or type(record) ~= 'table' then return -2 end
if record.session_id ~= ARGV[2] then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] and ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return raw
