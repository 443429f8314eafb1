-- ARGV: opid, ino, name, uid, gids -> {0, attr} | {errno}
-- needs: perm
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local ino, name, uid, gids = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local a = get_attr(ino)
if not a then return op_finish(opid, {ESTALE}) end
if not may(a, uid, gids, 2) and uid ~= a.uid then return op_finish(opid, {EACCES}) end
if call('HDEL', k_xattr(ino), name) == 0 then return op_finish(opid, {ENODATA}) end
local s, ns = now()
touch(a, s, ns, false)
return op_finish(opid, {0, put_attr(ino, a)})
