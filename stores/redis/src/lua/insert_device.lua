-- insert_device_request. KEYS[1] device:{hash}, KEYS[2] user-code:{digest}.
-- ARGV: record JSON, client id, interval (s), expires (unix ms), lifetime (ms), the device hash.
-- 0: a live request has this user code (its key lives exactly as long as the request).
-- -1: a request under this device hash exists (a collision). 1: stored.
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'client', ARGV[2], 'phase', 'pending', 'interval', ARGV[3],
  'expires', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[5])
return 1
