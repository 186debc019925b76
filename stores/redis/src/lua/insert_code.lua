-- insert_code. KEYS[1] code:{hash}. ARGV[1] the record (JSON), ARGV[2] ms to keep it.
-- 1: stored. 0: a code with this digest exists; it is left as it is.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'record', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
