-- Helpers shared by the scripts below. Every script runs atomically: Redis executes no other
-- command while it runs, which is what makes each Store operation one indivisible step.

-- Keeps `key` for at least `ttl` more milliseconds, never shortening what it already has.
local function keep_for(key, ttl)
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end

-- Revokes grant `id`: remembers the revocation for at least `remember` ms (so a late insert or
-- rotation is refused), deletes every token the grant issued and its family state.
local function revoke_grant(prefix, id, remember)
  local marker = prefix .. 'revoked:' .. id
  if redis.call('PTTL', marker) < remember then
    redis.call('SET', marker, '1', 'PX', remember)
  end
  local members = prefix .. 'members:' .. id
  for _, member in ipairs(redis.call('SMEMBERS', members)) do
    redis.call('DEL', prefix .. member)
  end
  local family = prefix .. 'family:' .. id
  local subject = redis.call('HGET', family, 'subject')
  if subject then
    redis.call('SREM', prefix .. 'subject:' .. subject, id)
  end
  redis.call('DEL', family, members)
end
