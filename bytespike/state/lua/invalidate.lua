-- Forget hot copies (the next use reloads them) and make loads in progress stale.
-- ARGV: 3 entity count, 4.. entities.
for i = 1, tonumber(ARGV[3]) do
  local e = ARGV[3 + i]
  redis.call('DEL', P .. e)
  bump(e)
end
return 1
