-- revoke_subject. KEYS: 1 revoked-sub:{subject}, 2 subject:{subject}.
-- ARGV: 1 key prefix, 2 revocation time (unix us), 3 ms to remember it.
-- Remembers the latest revocation time for the longest period asked, then revokes every grant
-- of the subject.
local at = ARGV[2]
local before = redis.call('GET', KEYS[1])
if before and tonumber(before) > tonumber(at) then
  at = before
end
local remember = tonumber(ARGV[3])
redis.call('SET', KEYS[1], at, 'PX', math.max(remember, redis.call('PTTL', KEYS[1])))
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  revoke_grant(ARGV[1], id, remember)
end
redis.call('DEL', KEYS[2])
return 1
