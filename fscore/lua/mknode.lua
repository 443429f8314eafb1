-- Creates a file, directory, symlink or special file in one step.
-- ARGV: opid, parent, name, type, mode, uid, gid, gids, rdev_major, rdev_minor,
--       symlink target, exclusive (0/1), inode number, order number (both
--       taken by the gateway from the volume's counters, in ranges)
-- -> {0, ino, attr, parent_attr, existed} | {errno[, ino, attr]}
-- The inode number is this call's own: a retry that finds it under the name
-- is looking at its own first try.
local opid = ARGV[1]
local parent, name, typ, mode = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local uid, gid, gids = tonumber(ARGV[6]), ARGV[7], ARGV[8]
local rmaj, rmin, target, excl = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11], ARGV[12] == '1'
local ino, order = tonumber(ARGV[13]), tonumber(ARGV[14])
gid = tonumber(gid)

local pa = get_attr(parent)
if not pa then return {ESTALE} end
if pa.nlink == 0 then return {ENOENT} end
if pa.type ~= T_DIR then return {ENOTDIR} end
local existing = lookup_entry(parent, name)
if existing then
	local ea = redis.call('GET', k_inode(existing))
	if op_retried(opid) and existing == ino and ea then
		return {0, existing, ea, pack_attr(pa), 0}
	end
	if not excl and typ == T_FILE and ea and unpack_attr(ea).type == T_FILE then
		return {0, existing, ea, pack_attr(pa), 1}
	end
	return {EEXIST, existing, ea or ''}
end
if not may(pa, uid, gids, 3) then return {EACCES} end

local s, ns = now()
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
put_attr(ino, a)
redis.call('HSET', k_dir(parent), name, entry_pack(ino, typ))
redis.call('ZADD', k_order(parent), order, name)
touch(pa, s, ns, true)
put_attr(parent, pa)
usage_add('inodes', 1)
return {0, ino, pack_attr(a), pack_attr(pa), 0}
