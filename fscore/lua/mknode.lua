-- Creates a file, directory, symlink or special file in one step.
-- ARGV: opid, parent, name, type, mode, uid, gid, gids, rdev_major, rdev_minor,
--       symlink target, exclusive (0/1)
-- -> {0, ino, attr, parent_attr, existed} | {errno[, ino, attr]}
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local parent, name, typ, mode = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local uid, gid, gids = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local rmaj, rmin, target, excl = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11], ARGV[12] == '1'

local pa = get_attr(parent)
if not pa then return op_finish(opid, {ESTALE}) end
if pa.nlink == 0 then return op_finish(opid, {ENOENT}) end
if pa.type ~= T_DIR then return op_finish(opid, {ENOTDIR}) end
local existing = lookup_entry(parent, name)
if existing then
	local ea = redis.call('GET', k_inode(existing))
	if not excl and typ == T_FILE and ea and unpack_attr(ea).type == T_FILE then
		return op_finish(opid, {0, existing, ea, pack_attr(pa), 1})
	end
	return op_finish(opid, {EEXIST, existing, ea or ''})
end
if not may(pa, uid, gids, 3) then return op_finish(opid, {EACCES}) end

local s, ns = now()
local ino = redis.call('HINCRBY', K_COUNTER, 'inode', 1)
local a = {type = typ, mode = bit.band(mode, 4095), uid = uid, gid = gid, nlink = 1, size = 0,
	atime = s, atime_ns = ns, mtime = s, mtime_ns = ns, ctime = s, ctime_ns = ns,
	rdev_major = rmaj, rdev_minor = rmin, change = 1, parent = parent,
	gen = (s * 1000 + math.floor(ns / 1000000)) % 2147483647 + 1}
-- BSD group semantics for setgid directories, as Linux does.
if bit.band(pa.mode, 1024) ~= 0 then
	a.gid = pa.gid
	if typ == T_DIR then a.mode = bit.bor(a.mode, 1024) end
end
if typ == T_DIR then
	a.nlink = 2
	pa.nlink = pa.nlink + 1
elseif typ == T_SYMLINK then
	a.size = string.len(target)
	redis.call('SET', k_symlink(ino), target)
end
if typ ~= T_DIR then parent_add(ino, parent) end
put_attr(ino, a)
dir_add(parent, name, ino, typ)
touch(pa, s, ns, true)
put_attr(parent, pa)
usage_add('inodes', 1)
return op_finish(opid, {0, ino, pack_attr(a), pack_attr(pa), 0})
