-- ARGV: dir, name, uid, gids -> {0, ino, attr, dir_attr} | {errno}
-- flags: no-writes
-- needs: perm dir
local dir, name, uid, gids = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local draw = call('GET', P .. ':i:' .. dir)
local da = unpack_attr(draw)
if not da then return {ESTALE} end
if da.type ~= T_DIR then return {ENOTDIR} end
if not may(da, uid, gids, 1) then return {EACCES} end
local e = call('HGET', P .. ':d:' .. dir, name)
if not e then return {ENOENT, 0, '', draw} end
local ino = entry_unpack(e)
local a = call('GET', k_inode(ino))
if not a then return {ENOENT, 0, '', draw} end
return {0, ino, a, draw}
