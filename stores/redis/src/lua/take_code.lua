-- take_code. KEYS[1] code:{hash}.
-- nil: no such code. {1, record}: this caller marked it used. {0, record}: it was used before.
-- HSETNX sets `used` for exactly one caller; the record stays until the key expires, so a
-- replay is recognised.
local record = redis.call('HGET', KEYS[1], 'record')
if not record then
  return false
end
return {redis.call('HSETNX', KEYS[1], 'used', '1'), record}
