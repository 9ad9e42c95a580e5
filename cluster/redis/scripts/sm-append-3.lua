-- sm-append-3: queues an outbound stanza of a managed stream, if the caller still owns it and the
-- stream was not given this stanza already (its identity, src/state/delivered.ts).
-- KEYS[1]  <p>:v1:{<bare>}:sm:<token>   hash of the stream's record
-- KEYS[2]  <p>:v1:{<bare>}:smq:<token>  list of JSON {"seq":…,"xml":…,"stamp":…,"id":…}
-- KEYS[3]  <p>:v1:{<bare>}:smd:<token>  hash: sender stream token → '<high seq>:<32-bit mask>'
-- ARGV[1]  the caller's node id
-- ARGV[2]  the stanza's sequence number; '0' takes the next one (a parked stream, which no
--          node counts for)
-- ARGV[3]  the stanza's XML
-- ARGV[4]  when it was queued (ms)
-- ARGV[5]  its identity '<sender token>:<seq>', or '' when it has none
-- ARGV[6]  the epoch the caller took the stream with (sm-takeover-3), or '' for no check
-- Returns  the stanza's sequence number; 0 when it was given already (not queued again); -1 when
--          the stream is unknown, another node owns it, or it was taken over after the caller's epoch.
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return -1 end
local epoch = tonumber(ARGV[6] or '')
if epoch and (tonumber(redis.call('HGET', KEYS[1], 'epoch')) or 0) > epoch then return -1 end
local id = ARGV[5] or ''
local sender, idseq = string.match(id, '^(.+):(%d+)$')
idseq = tonumber(idseq)
if sender and idseq and idseq > 0 then
  local high, mask = 0, 0
  local current = redis.call('HGET', KEYS[3], sender)
  if current then
    local h, m = string.match(current, '^(%d+):(%-?%d+)$')
    high = tonumber(h) or 0
    mask = bit.tobit(tonumber(m) or 0)
  end
  if idseq == high then return 0 end
  if idseq < high then
    local distance = high - idseq
    if distance > 32 then return 0 end
    local b = bit.lshift(1, distance - 1)
    if bit.band(mask, b) ~= 0 then return 0 end
    mask = bit.bor(mask, b)
  else
    local distance = idseq - high
    if high == 0 or distance > 32 then mask = 0
    elseif distance == 32 then mask = bit.lshift(1, 31)
    else mask = bit.bor(bit.lshift(mask, distance), bit.lshift(1, distance - 1)) end
    high = idseq
  end
  -- Bounded: a stream that heard from very many sender streams starts over (a late copy may then pass).
  if redis.call('HLEN', KEYS[3]) >= 1024 and redis.call('HEXISTS', KEYS[3], sender) == 0 then redis.call('DEL', KEYS[3]) end
  redis.call('HSET', KEYS[3], sender, high .. ':' .. mask)
end
local seq = tonumber(ARGV[2])
if seq == 0 then
  seq = redis.call('HINCRBY', KEYS[1], 'sent', 1)
else
  redis.call('HSET', KEYS[1], 'sent', seq)
end
local entry = { seq = seq, xml = ARGV[3], stamp = tonumber(ARGV[4]) }
if id ~= '' then entry.id = id end
redis.call('RPUSH', KEYS[2], cjson.encode(entry))
return seq
