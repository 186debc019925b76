-- insert_grant.
-- KEYS: 1 revoked:{grant}, 2 revoked-sub:{subject}, 3 family:{grant}, 4 members:{grant},
--       5 subject:{subject}, 6 at:{access}, 7 rt:{refresh} (only when a refresh token is issued).
-- ARGV: 1 grant id, 2 authorized_at (unix us), 3 grant record (JSON), 4 ms to keep the grant,
--       5 subject, 6 access record, 7 ms to keep it, 8 its member name (at:{hash}),
--       9 now (unix ms: the access token's issued_at), 10 the family's end (unix ms: the latest
--       expires_at of the grant and its tokens),
--       11 refresh hash, 12 refresh record, 13 ms to keep it, 14 its member name (rt:{hash}).
-- 1: stored. 0: the grant or its subject was revoked; nothing stored. -1: a key exists already.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local subject_revoked_at = redis.call('GET', KEYS[2])
if subject_revoked_at and tonumber(ARGV[2]) <= tonumber(subject_revoked_at) then
  return 0
end
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[6]) == 1
    or (KEYS[7] and redis.call('EXISTS', KEYS[7]) == 1) then
  return -1
end
local keep = math.max(tonumber(ARGV[4]), tonumber(ARGV[7]))
redis.call('HSET', KEYS[3], 'record', ARGV[3], 'subject', ARGV[5])
redis.call('SET', KEYS[6], ARGV[6], 'PX', ARGV[7])
redis.call('SADD', KEYS[4], ARGV[8])
if KEYS[7] then
  redis.call('HSET', KEYS[3], 'active', ARGV[11])
  redis.call('HSET', KEYS[7], 'record', ARGV[12])
  redis.call('PEXPIRE', KEYS[7], ARGV[13])
  redis.call('SADD', KEYS[4], ARGV[14])
  keep = math.max(keep, tonumber(ARGV[13]))
end
redis.call('PEXPIRE', KEYS[3], keep)
keep_for(KEYS[4], keep)
-- The subject index: grants whose family has ended are dropped here, so a subject that keeps
-- getting short-lived grants (a client_credentials client is its own subject) keeps only its
-- live ones. Its lifetime covers its longest-lived grant.
local index = subject_index(KEYS[5], ARGV[9])
redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. ARGV[9])
redis.call('ZADD', index, ARGV[10], ARGV[1])
keep_for(index, keep)
return 1
