-- Install database values (already corrected by the journal) for entities still missing, unless
-- a settlement missed one of them since the ticket (its generation moved) or the ticket is too
-- old. ARGV: 3 ticket time ms, 4 JSON [[entity, gen, value]...]; value is an integer, or for
-- windows three lists of [bucket index, amount]. Returns 1 (installed) or 0 (stale).
if now - tonumber(ARGV[3]) > LOAD_DEADLINE then return 0 end
local items = cjson.decode(ARGV[4])
for _, it in ipairs(items) do
  if redis.call('EXISTS', P .. it[1]) == 0 and num(redis.call('GET', P .. 'g:' .. it[1])) ~= it[2] then
    return 0
  end
end
for _, it in ipairs(items) do
  local e = it[1]
  local name = P .. e
  if redis.call('EXISTS', name) == 0 then
    local kind, id = string.match(e, '^(%a+):(-?%d+)$')
    if kind == 'w' or kind == 'k' then
      local z = P .. kind .. 'h:' .. id
      redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
      local held = 0
      for _, m in ipairs(redis.call('ZRANGE', z, 0, -1)) do held = held + amount_of(m) end
      local field = 'bal'
      if kind == 'k' then field = 'used' end
      redis.call('HSET', name, field, d(it[3]), 'held', d(held))
    else
      for i, w in ipairs(WIN) do
        local sum, lo = 0, math.floor(now / w[2]) + 1
        for _, pair in ipairs(it[3][i]) do
          redis.call('HSET', name, bucket_field(w[1], pair[1]), d(pair[2]))
          sum = sum + pair[2]
          if pair[1] < lo then lo = pair[1] end
        end
        redis.call('HSET', name, 's' .. w[1], d(sum), 'l' .. w[1], d(lo))
      end
    end
    touch(name)
  end
end
return 1
