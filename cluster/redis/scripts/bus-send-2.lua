-- bus-send-2: adds envelopes to a node's inbox in one round trip, one stream entry each (the
-- entries a plain XADD writes, 'v' and 'e'), except a stanza for a session another node took over
-- from this one (bus-take-2 marked it moved): that one is refused, and its sender routes it again
-- from fresh state. Without this, a sender whose registry cache still named this node would add
-- it after the taker's scan, and it would reach the resource behind newer stanzas of its sender.
-- KEYS[1]   <p>:v1:node:{<node>}:inbox   stream
-- KEYS[2]   <p>:v1:node:{<node>}:moved   hash    full JID → the session taken over from this node
-- ARGV[1]   the envelope version
-- ARGV[2…]  per envelope, in the order sent: the resource ('' = none), the session the sender
--           meant ('' = unknown: never refused), the envelope (JSON)
-- Returns   the positions (1-based) of the refused envelopes.
local refused = {}
local marked = redis.call('EXISTS', KEYS[2]) == 1
local n = 0
for i = 2, #ARGV - 2, 3 do
  n = n + 1
  local to, session = ARGV[i], ARGV[i + 1]
  if marked and to ~= '' and session ~= '' and redis.call('HGET', KEYS[2], to) == session then
    refused[#refused + 1] = n
  else
    redis.call('XADD', KEYS[1], '*', 'v', ARGV[1], 'e', ARGV[i + 2])
  end
end
return refused
