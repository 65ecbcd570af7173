-- Push the deadlines of running requests' holds and leases (only those still recorded).
-- ARGV: 3 ttl ms, 4 hold count, then per hold: hold id, amount, wallet, account, key count,
-- key ids.
local deadline = d(now + tonumber(ARGV[3]))
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local hid, wallet, account, count = ARGV[i], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  local member = hid .. '|' .. ARGV[i + 1]
  redis.call('ZADD', P .. 'wh:' .. wallet, 'XX', deadline, member)
  for j = 1, count do redis.call('ZADD', P .. 'kh:' .. ARGV[i + 4 + j], 'XX', deadline, member) end
  redis.call('ZADD', P .. 'c:' .. account, 'XX', deadline, hid)
  i = i + 5 + count
end
return 1
