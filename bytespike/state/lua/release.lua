-- Drop a hold and its lease, no debit. ARGV: 3 hold id, 4 amount, 5 wallet, 6 account,
-- 7 key count, 8.. key ids.
local hid, amount, wallet = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local member = hid .. '|' .. d(amount)
drop_hold(P .. 'w:' .. wallet, P .. 'wh:' .. wallet, member, amount)
for i = 0, tonumber(ARGV[7]) - 1 do
  local id = ARGV[8 + i]
  drop_hold(P .. 'k:' .. id, P .. 'kh:' .. id, member, amount)
end
redis.call('ZREM', P .. 'c:' .. ARGV[6], hid)
return 1
