-- Forgets a dead gateway session: drops it from the open set of every file
-- it held and frees the unlinked files only it kept alive.
-- ARGV: session -> {0, freed}
-- needs: free
local sess = ARGV[1]
local freed = 0
local held = call('SMEMBERS', P .. ':sessopen:' .. sess)
for _, o in ipairs(held) do
	local ino = tonumber(o)
	call('SREM', k_open(ino), sess)
	local a = get_attr(ino)
	if a and a.nlink == 0 and call('EXISTS', k_open(ino)) == 0 then
		free_inode(ino, a, true)
		freed = freed + 1
	end
end
call('DEL', P .. ':sessopen:' .. sess)
call('HDEL', P .. ':sessions', sess)
return {0, freed}
