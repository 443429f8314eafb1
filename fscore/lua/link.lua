-- ARGV: opid, ino, new parent, name, uid, gids -> {0, attr, parent_attr} | {errno}
-- needs: perm dir
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local ino, parent, name, uid, gids = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), ARGV[6]
local a = get_attr(ino)
if not a then return op_finish(opid, {ESTALE}) end
if a.type == T_DIR then return op_finish(opid, {EPERM}) end
if a.nlink == 0 then return op_finish(opid, {ENOENT}) end
local pa = get_attr(parent)
if not pa or pa.nlink == 0 then return op_finish(opid, {ENOENT}) end
if pa.type ~= T_DIR then return op_finish(opid, {ENOTDIR}) end
if lookup_entry(parent, name) then return op_finish(opid, {EEXIST}) end
if not may(pa, uid, gids, 3) then return op_finish(opid, {EACCES}) end
if a.nlink >= 65000 then return op_finish(opid, {EMLINK}) end
local s, ns = now()
a.nlink = a.nlink + 1
parent_add(ino, a, parent)
touch(a, s, ns, false)
local packed = put_attr(ino, a)
dir_add(parent, name, ino, a.type)
touch(pa, s, ns, true)
return op_finish(opid, {0, packed, put_attr(parent, pa)})
