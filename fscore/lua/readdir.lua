-- One page of a directory in creation order; a cookie is the order score of
-- the last entry returned, so it stays valid whatever else changes.
-- ARGV: dir, cookie, count, with_attrs (0/1) -> {0, dir_attr, eof, {name, ino, type, cookie, attr}...} | {errno}
local dir, cookie, count, plus = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local da = redis.call('GET', k_inode(dir))
if not da then return {ESTALE} end
if unpack_attr(da).type ~= T_DIR then return {ENOTDIR} end
local page = redis.call('ZRANGEBYSCORE', k_order(dir), '(' .. cookie, '+inf', 'WITHSCORES', 'LIMIT', 0, count + 1)
local out = {0, da, 1}
local n = math.min(count, #page / 2)
if #page / 2 > count then out[3] = 0 end
for i = 1, n do
	local name, score = page[2 * i - 1], page[2 * i]
	local e = redis.call('HGET', k_dir(dir), name)
	if e then
		local ino, typ = entry_unpack(e)
		local attr = ''
		if plus then attr = redis.call('GET', k_inode(ino)) or '' end
		table.insert(out, {name, ino, typ, score, attr})
	end
end
return out
