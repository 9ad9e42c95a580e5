-- account-set-1: replaces the credentials of an existing account.
-- KEYS[1]  <p>:v1:{<bare>}:account
-- ARGV[1]  schema version of the record ("1")
-- ARGV[2]  JSON ScramKeys for SHA-1
-- ARGV[3]  JSON ScramKeys for SHA-256
-- Returns  1 when replaced; -1 when the account does not exist (nothing is created).
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'SHA-1', ARGV[2], 'SHA-256', ARGV[3])
return 1
