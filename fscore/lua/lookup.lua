-- ARGV: dir, name, uid, gids -> {0, ino, attr, dir_attr} | {errno}
local dir, name, uid, gids = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]
local da = get_attr(dir)
if not da then return {ESTALE} end
if da.type ~= T_DIR then return {ENOTDIR} end
if not may(da, uid, gids, 1) then return {EACCES} end
local ino = lookup_entry(dir, name)
if not ino then return {ENOENT, 0, '', pack_attr(da)} end
local a = redis.call('GET', k_inode(ino))
if not a then return {ENOENT, 0, '', pack_attr(da)} end
return {0, ino, a, pack_attr(da)}
