-- Shared by every script (prepended by state/redis.py). ARGV[1] is the key prefix, ARGV[2]
-- the time in unix ms or -1 for the server's clock, so every process agrees on "now". ARGV[3]
-- starts the journal entries to forget (see the end of this file), which the prelude removes
-- from ARGV, so each script's own arguments start at ARGV[3].
--
-- Keys (P = prefix):  P..'w:'..id  wallet hash {bal, held}     P..'wh:'..id  its holds (zset)
--                     P..'k:'..id  key hash {used, held}       P..'kh:'..id  its holds (zset)
--                     P..'kw:'..id key windows hash: s<w> running sum, l<w> oldest bucket with
--                                  spend, b<w>:<index> spend of one bucket
--                     P..'c:'..account  concurrency leases (zset hold id -> deadline)
--                     P..'g:'..entity   generation, bumped when a settlement misses an entity
--                     P..'j:'..w|k..':'..id..':'..minute  journal (request id -> "cost|ms")
--                     P..'kr:'..key  the key is revoked (set by the revoke path, one-day TTL)
--                     P..'ks:'..key  rotated-out secrets: fingerprint -> ms when it stops
-- A hold member is "<hold id>|<amount>"; its score is its deadline (ms).
local P = ARGV[1]
local now = tonumber(ARGV[2])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local TTL = 86400
local JB = 60000
local JBUCKETS = 6
local JKEEP = 420
local LOAD_DEADLINE = 60000
local WIN = {{'5h', 60000, 300}, {'1d', 300000, 288}, {'7d', 3600000, 168}}

local function d(x) return string.format('%d', x) end
local function num(v) if v then return tonumber(v) end return 0 end
local function touch(name) redis.call('EXPIRE', name, TTL) end
local function bump(entity)
  local g = P .. 'g:' .. entity
  redis.call('INCR', g)
  redis.call('EXPIRE', g, TTL)
end
local function amount_of(member) return tonumber(string.match(member, '|(%d+)$')) end

-- Drop the expired holds of one zset and take their amounts off the entity's held sum.
local function sweep(h, z)
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #expired == 0 then return end
  local freed = 0
  for i = 1, #expired do freed = freed + amount_of(expired[i]) end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  if redis.call('EXISTS', h) == 1 then redis.call('HINCRBY', h, 'held', d(-freed)) end
end

local function drop_hold(h, z, member, amount)
  if redis.call('ZREM', z, member) == 1 and redis.call('EXISTS', h) == 1 then
    redis.call('HINCRBY', h, 'held', d(-amount))
  end
end

local function bucket_field(name, idx) return 'b' .. name .. ':' .. d(idx) end

-- Move window w of hash kw to now: drop buckets that left it; returns sum, oldest, current.
-- Same arithmetic as state/windows.py.
local function advance(kw, w)
  local name, g, n = w[1], w[2], w[3]
  local cur = math.floor(now / g)
  local first = cur - n
  local sum = num(redis.call('HGET', kw, 's' .. name))
  local lo = tonumber(redis.call('HGET', kw, 'l' .. name) or d(cur + 1))
  if sum <= 0 then
    lo = cur + 1
  else
    if lo < first then
      for i = lo, math.min(first - 1, lo + n) do
        local f = bucket_field(name, i)
        local v = redis.call('HGET', kw, f)
        if v then
          sum = sum - tonumber(v)
          redis.call('HDEL', kw, f)
        end
      end
      lo = first
    end
    while lo <= cur and redis.call('HEXISTS', kw, bucket_field(name, lo)) == 0 do lo = lo + 1 end
  end
  redis.call('HSET', kw, 's' .. name, d(sum), 'l' .. name, d(lo))
  return sum, lo, cur
end

local function add_spend(kw, w, cost)
  local sum, lo, cur = advance(kw, w)
  redis.call('HINCRBY', kw, bucket_field(w[1], cur), d(cost))
  if lo > cur then lo = cur end
  redis.call('HSET', kw, 's' .. w[1], d(sum + cost), 'l' .. w[1], d(lo))
end

-- When the window lifts: the oldest spend's age-out, or (at or over the cap) the moment enough
-- has aged out to bring the sum below the cap; now when nothing was spent.
local function reset_at(kw, w, sum, lo, cur, limit)
  local name, g, n = w[1], w[2], w[3]
  if sum <= 0 or lo > cur then return now end
  if sum < limit then return (lo + n + 1) * g end
  local left = sum
  for i = lo, cur do
    local v = redis.call('HGET', kw, bucket_field(name, i))
    if v then
      left = left - tonumber(v)
      if left < limit then return (i + n + 1) * g end
    end
  end
  return (cur + n + 1) * g
end

-- Keys of the chain from ARGV: id, quota, cap 5h, cap 1d, cap 7d each.
local function read_keys(start, count)
  local keys = {}
  for i = 0, count - 1 do
    local b = start + i * 5
    local k = {id = ARGV[b], quota = tonumber(ARGV[b + 1]),
               caps = {tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])}}
    k.capped = k.caps[1] > 0 or k.caps[2] > 0 or k.caps[3] > 0
    keys[#keys + 1] = k
  end
  return keys
end

local function missing_of(wallet, keys)
  local m = {}
  if redis.call('EXISTS', P .. 'w:' .. wallet) == 0 then m[#m + 1] = 'w:' .. wallet end
  for _, k in ipairs(keys) do
    if redis.call('EXISTS', P .. 'k:' .. k.id) == 0 then m[#m + 1] = 'k:' .. k.id end
    if k.capped and redis.call('EXISTS', P .. 'kw:' .. k.id) == 0 then m[#m + 1] = 'kw:' .. k.id end
  end
  return m
end

local function sweep_all(wallet, keys)
  sweep(P .. 'w:' .. wallet, P .. 'wh:' .. wallet)
  for _, k in ipairs(keys) do sweep(P .. 'k:' .. k.id, P .. 'kh:' .. k.id) end
end

-- {balance, held, now, {{key id, used, held, {{window index, cap, sum, reset}...}}...}}
local function view(wallet, keys)
  local w = P .. 'w:' .. wallet
  local kvs = {}
  for _, k in ipairs(keys) do
    local h = P .. 'k:' .. k.id
    local wins = {}
    if k.capped then
      local kw = P .. 'kw:' .. k.id
      for i = 1, 3 do
        if k.caps[i] > 0 then
          local sum, lo, cur = advance(kw, WIN[i])
          wins[#wins + 1] = {i, k.caps[i], sum, reset_at(kw, WIN[i], sum, lo, cur, k.caps[i])}
        end
      end
    end
    local kv = redis.call('HMGET', h, 'used', 'held')
    kvs[#kvs + 1] = {k.id, num(kv[1]), num(kv[2]), wins}
  end
  local wv = redis.call('HMGET', w, 'bal', 'held')
  return {num(wv[1]), num(wv[2]), now, kvs}
end

-- Journal entries whose usage records have committed (RedisState.committed): the caller's
-- process piggybacks them on its next script, so forgetting them costs no round trip. Any
-- snapshot read from now on contains their records, so a load no longer needs them, and a
-- load must not have to read (and check against the database) minutes of traffic: 7 minutes
-- at 1,600 requests/s would be ~670,000 entries of one wallet. ARGV[3] = count, then per
-- entry: wallet, request id, settled at (ms), key count, key ids.
do
  local i = 4
  for _ = 1, tonumber(ARGV[3]) do
    local wallet, rid, jb = ARGV[i], ARGV[i + 1], d(math.floor(tonumber(ARGV[i + 2]) / JB))
    local nk = tonumber(ARGV[i + 3])
    redis.call('HDEL', P .. 'j:w:' .. wallet .. ':' .. jb, rid)
    for j = i + 4, i + 3 + nk do redis.call('HDEL', P .. 'j:k:' .. ARGV[j] .. ':' .. jb, rid) end
    i = i + 4 + nk
  end
  local shift = i - 3
  for j = 3, #ARGV do ARGV[j] = ARGV[j + shift] end
end
