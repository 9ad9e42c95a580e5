-- sm-append-2: queues an outbound stanza of a managed stream, if the caller still owns it.
-- KEYS[1]  <p>:v1:{<bare>}:sm:<token>   hash of the stream's record
-- KEYS[2]  <p>:v1:{<bare>}:smq:<token>  list of JSON {"seq":…,"xml":…,"stamp":…}
-- ARGV[1]  the caller's node id
-- ARGV[2]  the stanza's sequence number; '0' takes the next one (a parked stream, which no
--          node counts for)
-- ARGV[3]  the stanza's XML
-- ARGV[4]  when it was queued (ms)
-- Returns  the stanza's sequence number; -1 when the stream is unknown or another node owns it.
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return -1 end
local seq = tonumber(ARGV[2])
if seq == 0 then
  seq = redis.call('HINCRBY', KEYS[1], 'sent', 1)
else
  redis.call('HSET', KEYS[1], 'sent', seq)
end
redis.call('RPUSH', KEYS[2], cjson.encode({ seq = seq, xml = ARGV[3], stamp = tonumber(ARGV[4]) }))
return seq
