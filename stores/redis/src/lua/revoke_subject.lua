-- revoke_subject, first step. KEYS: 1 revoked-sub:{subject}, 2 subject:{subject},
-- 3 subject-revoking:{subject}. ARGV: 1 revocation time (unix us), 2 ms to remember it.
-- Remembers the latest revocation time for the longest period asked, and moves the subject
-- index into the revoking set (merged with what an interrupted earlier call left there), whose
-- grants revoke_subject_batch.lua then revokes a bounded number at a time. Returns how many
-- grants are left to revoke.
-- From here on insert_grant refuses every grant authorized at or before the revocation time; a
-- newer grant goes into a fresh subject:{subject}, which this revocation leaves alone.
local at = ARGV[1]
local before = redis.call('GET', KEYS[1])
if before and tonumber(before) > tonumber(at) then
  at = before
end
local remember = tonumber(ARGV[2])
redis.call('SET', KEYS[1], at, 'PX', math.max(remember, redis.call('PTTL', KEYS[1])))
-- Kept until every grant in it would have ended anyway, and at least as long as the marker,
-- so a retry after an interruption still finds the unfinished work.
local keep = math.max(remember, redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[3]))
if redis.call('EXISTS', KEYS[2]) == 1 then
  -- ZUNIONSTORE also reads an index still in the old plain-set layout (as scores of 1).
  redis.call('ZUNIONSTORE', KEYS[3], 2, KEYS[3], KEYS[2], 'AGGREGATE', 'MAX')
  redis.call('DEL', KEYS[2])
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  return 0
end
keep_for(KEYS[3], keep)
return redis.call('ZCARD', KEYS[3])
