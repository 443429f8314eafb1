-- Records that a gateway session holds a file open (ARGV: ino, session, 1=open/0=close).
-- The last close of an unlinked file frees it. -> {0, attr_or_empty} | {errno}
-- needs: free
local ino, sess, opening = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local a = get_attr(ino)
if opening then
	if not a or a.nlink == 0 and call('EXISTS', k_open(ino)) == 0 then return {ESTALE} end
	call('SADD', k_open(ino), sess)
	call('SADD', P .. ':sessopen:' .. sess, id(ino))
	return {0, pack_attr(a)}
end
call('SREM', k_open(ino), sess)
call('SREM', P .. ':sessopen:' .. sess, id(ino))
if a and a.nlink == 0 and call('EXISTS', k_open(ino)) == 0 then
	free_inode(ino, a, true)
	return {0, ''}
end
return {0, a and pack_attr(a) or ''}
