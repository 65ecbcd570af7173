-- Before a load reads the database: the entities' generations and recent journal.
-- ARGV: 3 entity count, 4.. entities ("w:1", "k:2", "kw:2"). Returns {now, {entity, gen,
-- {request id, "cost|ms", ...}}...}.
local out = {now}
local jb = math.floor(now / JB)
for i = 1, tonumber(ARGV[3]) do
  local e = ARGV[3 + i]
  local kind, id = string.match(e, '^(%a+):(-?%d+)$')
  local jkind = kind
  if kind == 'kw' then jkind = 'k' end
  local entries = {}
  for b = jb - JBUCKETS, jb do
    local all = redis.call('HGETALL', P .. 'j:' .. jkind .. ':' .. id .. ':' .. d(b))
    for j = 1, #all do entries[#entries + 1] = all[j] end
  end
  out[#out + 1] = {e, num(redis.call('GET', P .. 'g:' .. e)), entries}
end
return out
