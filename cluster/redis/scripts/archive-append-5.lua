-- archive-append-5: archives one message unless its dedupe key was archived within the window,
-- then trims the archive by count and age and the contact's index to the archive's first entry.
-- Dedupe keys live in one hash per window-long time bucket, which expires by itself: a key is
-- found for at least one window and at most two (the current bucket and the one before).
-- KEYS[1]  <p>:v1:{<owner>}:mam            stream  entries (w = with, x = XML)
-- KEYS[2]  <p>:v1:{<owner>}:mam:w:<with>   stream  the contact's archive ids
-- KEYS[3]  <p>:v1:{<owner>}:mam:withs      set     contacts with an index stream
-- KEYS[4]  <p>:v1:{<owner>}:mam:seen:<b>   hash    dedupe key → archive id, this bucket
-- KEYS[5]  <p>:v1:{<owner>}:mam:seen:<b-1> hash    the same, the bucket before
-- ARGV[1]  stamp (ms)   ARGV[2] with   ARGV[3] XML   ARGV[4] dedupe key ('' = none)
-- ARGV[5]  most entries kept   ARGV[6] oldest age kept (ms)   ARGV[7] dedupe window (ms)
-- Returns  {id, 1, 0} for a duplicate (the first id); {id, 0, created} when stored, created = 1
--          when the archive held no entry before; -3 for a bad argument.
local stamp, maxEntries, maxAge, window = tonumber(ARGV[1]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if not stamp or not maxEntries or not maxAge or not window or maxEntries < 1 then return -3 end
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
