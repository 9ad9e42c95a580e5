-- account-create-1: creates an account hash unless it exists (atomic create).
-- KEYS[1]  <p>:v1:{<bare>}:account
-- ARGV[1]  schema version of the record ("1")
-- ARGV[2]  JSON ScramKeys for SHA-1
-- ARGV[3]  JSON ScramKeys for SHA-256
-- Returns  1 when created; -1 when the account already exists.
-- The account counter lives in another slot: the caller INCRs it after a 1.
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'SHA-1', ARGV[2], 'SHA-256', ARGV[3])
return 1
