-- Read the current view. ARGV: 3 wallet, 4 key count, 5.. keys (id quota c5h c1d c7d).
local wallet = ARGV[3]
local keys = read_keys(5, tonumber(ARGV[4]))
local missing = missing_of(wallet, keys)
if #missing > 0 then return {'missing', missing} end
sweep_all(wallet, keys)
return {'ok', view(wallet, keys)}
