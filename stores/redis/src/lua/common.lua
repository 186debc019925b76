-- Helpers shared by the scripts below. Every script runs atomically: Redis executes no other
-- command while it runs, which is what makes each Store operation one indivisible step.

-- Keeps `key` for at least `ttl` more milliseconds, never shortening what it already has.
local function keep_for(key, ttl)
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end

-- The subject index `subject:{subject}` is a sorted set of grant ids scored by each grant's end
-- (unix ms). Older versions kept a plain set, on which ZADD fails with WRONGTYPE: such a set is
-- converted once, in place, every member scored by the set's own end (`now_ms` plus its PTTL),
-- which is at or after the end of every grant in it, so no live grant is trimmed early.
-- ZUNIONSTORE reads a set as scores of 1 and does the conversion in one command.
local function subject_index(key, now_ms)
  if redis.call('TYPE', key).ok == 'set' then
    local ttl = redis.call('PTTL', key)
    -- A set without expiry (never written so) is kept as long as any key: MAX_TTL_MS in lib.rs.
    local score = tonumber(now_ms) + (ttl > 0 and ttl or 3153600000000)
    redis.call('ZUNIONSTORE', key, 1, key, 'WEIGHTS', string.format('%.0f', score))
    -- ZUNIONSTORE replaces the key, and with it the expiry.
    if ttl > 0 then
      redis.call('PEXPIRE', key, ttl)
    end
  end
  return key
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
    local index = prefix .. 'subject:' .. subject
    -- An index not yet converted from a plain set (see subject_index) is left as it is.
    if redis.call('TYPE', index).ok == 'set' then
      redis.call('SREM', index, id)
    else
      redis.call('ZREM', index, id)
    end
  end
  redis.call('DEL', family, members)
end
