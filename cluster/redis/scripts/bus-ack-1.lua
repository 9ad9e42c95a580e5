-- bus-ack-1: acknowledges entries of a node's inbox that the node handled, and deletes them.
-- KEYS[1]   <p>:v1:node:{<node>}:inbox   stream
-- ARGV[1]   the consumer group
-- ARGV[2…]  the ids of the handled entries
-- Returns   the number of entries deleted.
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
