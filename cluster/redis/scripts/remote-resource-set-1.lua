-- remote-resource-set-1: records what a resource announced to an account (a remote contact's
-- presence, or a directed presence of ours), unless the account already holds `max` other
-- resources; the list expires after the last set.
-- KEYS[1]  <p>:v1:{<bare>}:remotes
-- ARGV[1]  full JID
-- ARGV[2]  encodeKnown (state/remote-resources.ts): the caps ver, or JSON with the session
-- ARGV[3]  max resources per account
-- ARGV[4]  time to live of the list, milliseconds
-- Returns  1 when recorded; -1 when the list is full.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
