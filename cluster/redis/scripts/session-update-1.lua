-- session-update-1: patches a session record while it still carries the caller's session_id.
-- KEYS[1]  <p>:v1:{<bare>}:sessions  hash full JID → JSON record
-- ARGV[1]  full JID
-- ARGV[2]  the caller's session_id
-- ARGV[3]  the patch as JSON: any of priority, interested, carbons, blocklist_interested, sm_token,
--          presence (JSON null removes the presence)
-- ARGV[4]  optional: the change-notice channel, ARGV[5] the notice; published after the write
-- Returns  1 when applied; -1 when there is no record or it carries another session_id;
--          -2 when the stored record cannot be decoded; -3 when the patch cannot be decoded.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return -1 end
local ok, record = pcall(cjson.decode, raw)
if not ok or type(record) ~= 'table' or record.v ~= 1 then return -2 end
if record.session_id ~= ARGV[2] then return -1 end
local okPatch, patch = pcall(cjson.decode, ARGV[3])
if not okPatch or type(patch) ~= 'table' then return -3 end
for _, field in ipairs({ 'priority', 'interested', 'carbons', 'blocklist_interested', 'sm_token' }) do
  local value = patch[field]
  if value ~= nil and value ~= cjson.null then record[field] = value end
end
if patch.presence == cjson.null then
  record.presence = nil
elseif patch.presence ~= nil then
  record.presence = patch.presence
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
if ARGV[4] and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
