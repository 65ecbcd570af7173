-- Admission, all or nothing. ARGV: 3 hold id, 4 amount, 5 hold ttl ms, 6 wallet, 7 account,
-- 8 concurrency cap (0 = none), 9 key expiry ms (0 = never), 10 grace end ms of a rotated-out
-- secret (0 = none), 11 secret fingerprint ('' = unknown), 12 key count, 13.. keys (id quota
-- c5h c1d c7d). Returns {'missing', {entity...}} | {'refused', limit, key, window, available,
-- cap, used, held, reset, in flight, view ({} for a refused key)} | {'ok', view}.
local hid, amount, ttl = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local wallet, account, cap = ARGV[6], ARGV[7], tonumber(ARGV[8])
local expires, grace, secret = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11]
local keys = read_keys(13, tonumber(ARGV[12]))
-- The key itself first: expired, revoked (markers set by the revoke path) or a rotated-out
-- secret past its deadline, whatever the calling process's key cache still says.
local function refuse_key(limit, id) return {'refused', limit, id, '', 0, 0, 0, 0, 0, 0, {}} end
if expires > 0 and now >= expires then return refuse_key('key_expired', keys[1].id) end
if grace > 0 and now >= grace then return refuse_key('key_rotated', keys[1].id) end
for _, k in ipairs(keys) do
  if redis.call('EXISTS', P .. 'kr:' .. k.id) == 1 then return refuse_key('key_revoked', k.id) end
end
if secret ~= '' then
  local stops = redis.call('HGET', P .. 'ks:' .. keys[1].id, secret)
  if stops and now >= tonumber(stops) then return refuse_key('key_rotated', keys[1].id) end
end
local missing = missing_of(wallet, keys)
if #missing > 0 then return {'missing', missing} end
sweep_all(wallet, keys)
local v = view(wallet, keys)
local available = v[1] - v[2]
if available <= 0 or available < amount then
  return {'refused', 'balance', '', '', available, 0, 0, 0, 0, 0, v}
end
for i, k in ipairs(keys) do
  if k.quota > 0 then
    local left = k.quota - v[4][i][2] - v[4][i][3]
    if left <= 0 or left < amount then
      return {'refused', 'quota', k.id, '', left, k.quota, 0, 0, 0, 0, v}
    end
  end
end
-- Spec §5.1: admitted while the window has something left; in-flight holds count as spent so
-- concurrent requests cannot all see the same remainder.
for i, k in ipairs(keys) do
  local kv = v[4][i]
  for _, wv in ipairs(kv[4]) do
    if wv[3] + kv[3] >= wv[2] then
      return {'refused', 'window', k.id, WIN[wv[1]][1], 0, wv[2], wv[3], kv[3], wv[4], 0, v}
    end
  end
end
local C = P .. 'c:' .. account
redis.call('ZREMRANGEBYSCORE', C, '-inf', now)
local in_flight = redis.call('ZCARD', C)
if cap > 0 and in_flight >= cap then
  return {'refused', 'concurrency', '', '', 0, cap, 0, 0, 0, in_flight, v}
end
local deadline = d(now + ttl)
local member = hid .. '|' .. d(amount)
local W, WZ = P .. 'w:' .. wallet, P .. 'wh:' .. wallet
redis.call('ZADD', WZ, deadline, member)
redis.call('HINCRBY', W, 'held', d(amount))
touch(W)
touch(WZ)
for i, k in ipairs(keys) do
  local K, KZ = P .. 'k:' .. k.id, P .. 'kh:' .. k.id
  redis.call('ZADD', KZ, deadline, member)
  redis.call('HINCRBY', K, 'held', d(amount))
  touch(K)
  touch(KZ)
  if k.capped then touch(P .. 'kw:' .. k.id) end
  v[4][i][3] = v[4][i][3] + amount
end
redis.call('ZADD', C, deadline, hid)
touch(C)
v[2] = v[2] + amount
return {'ok', v}
