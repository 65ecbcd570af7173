-- Reverse a settlement whose usage record could not be committed. ARGV: 3 wallet,
-- 4 request id, 5 cost, 6 settled at ms, 7 key count, 8.. key ids.
local wallet, rid, cost, at = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local jb = d(math.floor(at / JB))
local function unjournal(kind, id)
  return redis.call('HDEL', P .. 'j:' .. kind .. ':' .. id .. ':' .. jb, rid) == 1
end
if unjournal('w', wallet) then
  local W = P .. 'w:' .. wallet
  if redis.call('EXISTS', W) == 1 then redis.call('HINCRBY', W, 'bal', d(cost)) else bump('w:' .. wallet) end
end
for i = 0, tonumber(ARGV[7]) - 1 do
  local id = ARGV[8 + i]
  if unjournal('k', id) then
    local K, KW = P .. 'k:' .. id, P .. 'kw:' .. id
    if redis.call('EXISTS', K) == 1 then redis.call('HINCRBY', K, 'used', d(-cost)) else bump('k:' .. id) end
    if redis.call('EXISTS', KW) == 1 then
      for _, w in ipairs(WIN) do
        local f = bucket_field(w[1], math.floor(at / w[2]))
        local v = redis.call('HGET', KW, f)
        if v then
          local left = tonumber(v) - cost
          if left > 0 then redis.call('HSET', KW, f, d(left)) else redis.call('HDEL', KW, f) end
          redis.call('HINCRBY', KW, 's' .. w[1], d(-math.min(cost, tonumber(v))))
        end
      end
    else
      bump('kw:' .. id)
    end
  end
end
return 1
