-- bus-send-1: adds several envelopes to a node's inbox in one round trip, one stream entry each.
-- The entries are those a plain XADD writes ('v', 'e'), so any reader of the envelope version
-- reads them.
-- KEYS[1]   <p>:v1:node:{<node>}:inbox   stream
-- ARGV[1]   the envelope version
-- ARGV[2…]  the envelopes (JSON), in the order they were sent
-- Returns   the number of entries added.
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'v', ARGV[1], 'e', ARGV[i])
end
return #ARGV - 1
