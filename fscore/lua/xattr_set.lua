-- ARGV: opid, ino, name, value, flags (1 create only, 2 replace only), uid, gids -> {0, attr} | {errno}
-- needs: perm
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local ino, name, value, flags, uid, gids = tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local a = get_attr(ino)
if not a then return op_finish(opid, {ESTALE}) end
if not may(a, uid, gids, 2) and uid ~= a.uid then return op_finish(opid, {EACCES}) end
local exists = call('HEXISTS', k_xattr(ino), name) == 1
if flags == 1 and exists then return op_finish(opid, {EEXIST}) end
if flags == 2 and not exists then return op_finish(opid, {ENODATA}) end
if call('HLEN', k_xattr(ino)) >= 1024 and not exists then return op_finish(opid, {ENOSPC}) end
call('HSET', k_xattr(ino), name, value)
local s, ns = now()
touch(a, s, ns, false)
return op_finish(opid, {0, put_attr(ino, a)})
