-- poll_device_request. KEYS[1] device:{hash}. ARGV: client id, now (unix ms).
-- nil: no such request, or another client's. Else {outcome, record, phase, approval, interval}
-- with the phase and approval as they were before this poll:
-- 'slow_down': pending and polled sooner than the interval after the last poll (which grows by
-- 5 s); 'redeemed': approved and live, now redeemed (exactly one caller gets this);
-- 'current': anything else. Every poll records its time.
local f = redis.call('HMGET', KEYS[1], 'record', 'client', 'phase', 'approval', 'interval', 'polled', 'expires')
if not f[1] or f[2] ~= ARGV[1] then
  return false
end
local now = tonumber(ARGV[2])
local interval = tonumber(f[5])
local outcome = 'current'
if f[3] == 'pending' and f[6] and now < tonumber(f[6]) + interval * 1000 then
  interval = interval + 5
  redis.call('HSET', KEYS[1], 'interval', interval)
  outcome = 'slow_down'
elseif f[3] == 'approved' and now < tonumber(f[7]) then
  redis.call('HSET', KEYS[1], 'phase', 'redeemed')
  outcome = 'redeemed'
end
redis.call('HSET', KEYS[1], 'polled', ARGV[2])
return {outcome, f[1], f[3], f[4] or '', tostring(interval)}
