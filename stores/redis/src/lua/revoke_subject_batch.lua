-- revoke_subject, each further step. KEYS: 1 subject-revoking:{subject}.
-- ARGV: 1 key prefix, 2 ms to remember each grant's revocation, 3 most grants to revoke.
-- Revokes up to ARGV[3] grants of the revoking set and returns how many are left. Each grant
-- leaves the set only once it is revoked: should a revocation fail, the grant and the rest stay
-- for the next call, never dropped unrevoked.
local remember = tonumber(ARGV[2])
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)) do
  revoke_grant(ARGV[1], id, remember)
  redis.call('ZREM', KEYS[1], id)
end
return redis.call('ZCARD', KEYS[1])
