-- archive-append-7: archives one message unless its dedupe key was archived within the window (or,
-- when asked, unless the owner's preferences do not want the contact archived: XEP-0313 §6),
-- then trims the archive by count and age and the contact's index to the archive's first entry.
-- Dedupe keys live in one hash per window-long time bucket, which expires by itself: a key is
-- found for at least one window and at most two (the current bucket and the one before).
-- KEYS[1]  <p>:v1:{<owner>}:mam            stream  entries (w = with, x = XML)
-- KEYS[2]  <p>:v1:{<owner>}:mam:w:<with>   stream  the contact's archive ids
-- KEYS[3]  <p>:v1:{<owner>}:mam:withs      set     contacts with an index stream
-- KEYS[4]  <p>:v1:{<owner>}:mam:seen:<b>   hash    dedupe key → archive id, this bucket
-- KEYS[5]  <p>:v1:{<owner>}:mam:seen:<b-1> hash    the same, the bucket before
-- KEYS[6]  <p>:v1:{<owner>}:mam:prefs      string  JSON {default, always, never} (absent: always)
-- KEYS[7]  <p>:v1:{<owner>}:roster         hash    the owner's roster items, by contact
-- ARGV[1]  stamp (ms)   ARGV[2] with   ARGV[3] XML   ARGV[4] dedupe key ('' = none)
-- ARGV[5]  most entries kept   ARGV[6] oldest age kept (ms)   ARGV[7] dedupe window (ms)
-- ARGV[8]  '1': apply the preferences to the contact (ARGV[2]); '0': archive regardless (a room)
-- Returns  {id, 1, 0} for a duplicate (the first id); {id, 0, created} when stored, created = 1
--          when the archive held no entry before; {'', 0, 0} when the preferences do not want it;
--          -3 for a bad argument.
local stamp, maxEntries, maxAge, window = tonumber(ARGV[1]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if not stamp or not maxEntries or not maxAge or not window or maxEntries < 1 then return -3 end
local function listed(list, jid)
  if type(list) ~= 'table' then return false end
  for _, item in ipairs(list) do if item == jid then return true end end
  return false
end
if ARGV[8] == '1' then
  local stored = redis.call('GET', KEYS[6])
  local ok, prefs = false, nil
  if stored then ok, prefs = pcall(cjson.decode, stored) end
  if ok and type(prefs) == 'table' then
    local contact = ARGV[2]
    local wanted = true
    if listed(prefs.never, contact) then wanted = false
    elseif listed(prefs.always, contact) then wanted = true
    elseif prefs.default == 'never' then wanted = false
    elseif prefs.default == 'roster' then wanted = redis.call('HEXISTS', KEYS[7], contact) == 1 end
    if not wanted then return {'', 0, 0} end
  end
end
local dedupe = ARGV[4]
if dedupe ~= '' then
  local seen = redis.call('HGET', KEYS[4], dedupe) or redis.call('HGET', KEYS[5], dedupe)
  if seen then return {seen, 1, 0} end
end
local created = 0
if redis.call('XLEN', KEYS[1]) == 0 then created = 1 end
-- Ids only grow: a stamp before the last entry's falls back to Redis's clock (never earlier).
local ok, id = pcall(redis.call, 'XADD', KEYS[1], 'MAXLEN', maxEntries, string.format('%d-*', stamp), 'w', ARGV[2], 'x', ARGV[3])
if not ok then id = redis.call('XADD', KEYS[1], 'MAXLEN', maxEntries, '*', 'w', ARGV[2], 'x', ARGV[3]) end
local ms = tonumber(string.match(id, '^(%d+)-'))
if ms - maxAge > 0 then redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-0', ms - maxAge)) end
redis.call('XADD', KEYS[2], id, 'i', '')
redis.call('SADD', KEYS[3], ARGV[2])
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if first then redis.call('XTRIM', KEYS[2], 'MINID', first[1]) end
if dedupe ~= '' then
  redis.call('HSET', KEYS[4], dedupe, id)
  redis.call('PEXPIRE', KEYS[4], 2 * window)
end
return {id, 0, created}
