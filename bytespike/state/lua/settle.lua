-- Settlement: release hold and lease, debit, add to lifetime spend and windows, journal.
-- ARGV: 3 hold id, 4 held amount, 5 wallet, 6 account, 7 request id, 8 cost, 9 key count,
-- 10.. keys (id quota c5h c1d c7d). Returns {'dup', now} | {'ok', now[, view]} (no view when
-- an entity was missing: the next use loads it).
local hid, amount, wallet, account = ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local rid, cost = ARGV[7], tonumber(ARGV[8])
local keys = read_keys(10, tonumber(ARGV[9]))
local member = hid .. '|' .. d(amount)
local jb = d(math.floor(now / JB))
local entry = d(cost) .. '|' .. d(now)
local W = P .. 'w:' .. wallet
drop_hold(W, P .. 'wh:' .. wallet, member, amount)
for _, k in ipairs(keys) do drop_hold(P .. 'k:' .. k.id, P .. 'kh:' .. k.id, member, amount) end
redis.call('ZREM', P .. 'c:' .. account, hid)
local JW = P .. 'j:w:' .. wallet .. ':' .. jb
if redis.call('HSETNX', JW, rid, entry) == 0 then return {'dup', now} end
redis.call('EXPIRE', JW, JKEEP)
local complete = true
if redis.call('EXISTS', W) == 1 then
  redis.call('HINCRBY', W, 'bal', d(-cost))
  touch(W)
else
  bump('w:' .. wallet)
  complete = false
end
for _, k in ipairs(keys) do
  local K, KW = P .. 'k:' .. k.id, P .. 'kw:' .. k.id
  local JK = P .. 'j:k:' .. k.id .. ':' .. jb
  redis.call('HSET', JK, rid, entry)
  redis.call('EXPIRE', JK, JKEEP)
  if redis.call('EXISTS', K) == 1 then
    redis.call('HINCRBY', K, 'used', d(cost))
    touch(K)
  else
    bump('k:' .. k.id)
    complete = false
  end
  if redis.call('EXISTS', KW) == 1 then
    if cost > 0 then
      for i = 1, 3 do add_spend(KW, WIN[i], cost) end
    end
    touch(KW)
  else
    bump('kw:' .. k.id)
    if k.capped then complete = false end
  end
end
if not complete then return {'ok', now} end
return {'ok', now, view(wallet, keys)}
