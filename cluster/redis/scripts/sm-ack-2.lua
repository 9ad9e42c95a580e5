-- sm-ack-2: drops the stanzas the client acknowledged and records both counters.
-- KEYS[1]  <p>:v1:{<bare>}:sm:<token>   hash of the stream's record
-- KEYS[2]  <p>:v1:{<bare>}:smq:<token>  list of JSON {"seq":…}, in sequence order
-- ARGV[1]  acked: every stanza with seq <= acked is dropped
-- ARGV[2]  inbound: the server's handled count
-- Returns  the queue length; -1 when the stream is unknown; -3 for non-numeric arguments.
local acked = tonumber(ARGV[1])
local inbound = tonumber(ARGV[2])
if not acked or not inbound then return -3 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head then break end
  local ok, item = pcall(cjson.decode, head)
  if not ok or type(item) ~= 'table' or not item.seq or item.seq > acked then break end
  redis.call('LPOP', KEYS[2])
end
if acked > (tonumber(redis.call('HGET', KEYS[1], 'acked')) or 0) then redis.call('HSET', KEYS[1], 'acked', acked) end
if inbound > (tonumber(redis.call('HGET', KEYS[1], 'inbound')) or 0) then redis.call('HSET', KEYS[1], 'inbound', inbound) end
return redis.call('LLEN', KEYS[2])
