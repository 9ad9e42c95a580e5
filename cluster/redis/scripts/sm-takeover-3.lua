-- sm-takeover-3: makes a node the owner of a managed stream, raises its epoch (the fencing token
-- the owner's appends carry), and returns its state at that instant, with what the stream was
-- given (so a copy that comes again is dropped on the new owner).
-- KEYS[1]  <p>:v1:{<bare>}:sm:<token>   hash of the stream's record
-- KEYS[2]  <p>:v1:{<bare>}:smq:<token>  list of queued stanzas (JSON)
-- KEYS[3]  <p>:v1:{<bare>}:smd:<token>  hash: sender stream token → '<high seq>:<mask>'
-- ARGV[1]  the new owner's node id
-- ARGV[2]  '1': only a detached stream (hibernating or parked) is taken, as hibernation expiry
--          does, so it never takes a stream its client resumed meanwhile; absent or '0': any
-- Returns  { flat HGETALL of the record, the queue as a list, flat HGETALL of KEYS[3] }; -1 when
--          the stream is unknown (or attached, with ARGV[2] '1').
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[2] == '1' and (tonumber(redis.call('HGET', KEYS[1], 'detached_at')) or 0) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'detached_at', '0')
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
return { redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1), redis.call('HGETALL', KEYS[3]) }
