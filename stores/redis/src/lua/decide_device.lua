-- decide_device_request. KEYS[1] device:{hash}. ARGV: phase (approved or denied), the approval
-- JSON (empty for a denial), now (unix ms).
-- 1: the request was pending and live, and now carries the decision; 0: nothing changed. The
-- phase test and the write are one script, so of racing decisions exactly one is recorded.
local state = redis.call('HMGET', KEYS[1], 'phase', 'expires')
if not state[1] or state[1] ~= 'pending' or tonumber(ARGV[3]) >= tonumber(state[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'phase', ARGV[1], 'approval', ARGV[2])
return 1
