-- rotate_refresh: the compare-and-swap on a family.
-- KEYS: 1 family:{grant}, 2 members:{grant}, 3 rt:{new refresh}, 4 at:{new access}.
-- ARGV: 1 key prefix, 2 hash presented (from), 3 grace retry ('1' or '0'), 4 new refresh hash,
--       5 new refresh record, 6 ms to keep it, 7 new access hash, 8 new access record,
--       9 ms to keep it, 10 rotation time (unix ns), 11 rotation time (unix ms), 12 the
--       family's end (unix ms: the latest expires_at of the new tokens and the grant), 13 grant id.
-- 1: rotated. 0: `from` is not what the family expects (or the family is gone); nothing stored.
local state = redis.call('HMGET', KEYS[1], 'active', 'previous', 'retried')
local active, previous, retried = state[1], state[2], state[3]
if not active then
  return 0
end
if ARGV[3] == '1' then
  if previous ~= ARGV[2] or retried == '1' then
    return 0
  end
elseif active ~= ARGV[2] then
  return 0
end
-- A grace retry replaces the active token too; a kept token (new hash == active) is not
-- rotated out, its record is replaced below.
if ARGV[4] ~= active then
  local replaced = ARGV[1] .. 'rt:' .. active
  if redis.call('EXISTS', replaced) == 1 then
    redis.call('HSET', replaced, 'rotated_at', ARGV[10])
  end
  redis.call('HSET', KEYS[1], 'active', ARGV[4], 'previous', ARGV[2], 'retried', ARGV[3])
end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'record', ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('SET', KEYS[4], ARGV[8], 'PX', ARGV[9])
redis.call('SADD', KEYS[2], 'rt:' .. ARGV[4], 'at:' .. ARGV[7])
local keep = math.max(tonumber(ARGV[6]), tonumber(ARGV[9]))
keep_for(KEYS[1], keep)
keep_for(KEYS[2], keep)
-- A new access token may outlive the grant's end: the subject index must keep the grant as long
-- as the family, or insert_grant would trim it while a token is live and revoke_subject miss it.
local subject = redis.call('HGET', KEYS[1], 'subject')
if subject then
  local index = subject_index(ARGV[1] .. 'subject:' .. subject, ARGV[11])
  local score = redis.call('ZSCORE', index, ARGV[13])
  if not score or tonumber(score) < tonumber(ARGV[12]) then
    redis.call('ZADD', index, ARGV[12], ARGV[13])
  end
  keep_for(index, keep)
end
return 1
