-- Creates a file, directory, symlink or special file in one step.
-- ARGV: opid, name, gids, symlink target, and packed (little-endian): parent,
--       inode number, order number (u64; the last two taken by the gateway
--       from the volume's counters, in ranges), type, mode, uid, gid,
--       rdev major, rdev minor, exclusive (u32)
-- -> {0, ino, attr, parent_attr, existed} | {errno[, ino, attr]}
-- The inode number is this call's own: a retry that finds it under the name
-- is looking at its own first try.
-- needs: perm dir
local opid, name, gids, target = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local parent, ino, order, typ, mode, uid, gid, rmaj, rmin, excl =
	sunpack('<I8I8I8I4I4I4I4I4I4I4', ARGV[5])
excl = excl == 1

local kpa = k_inode(parent)
local praw = call('GET', kpa)
local pa = unpack_attr(praw)
if not pa then return {ESTALE} end
if pa.nlink == 0 then return {ENOENT} end
if pa.type ~= T_DIR then return {ENOTDIR} end

-- A name that exists already: a retry's own first try, a file to open, or EEXIST.
local function existing_entry()
	local existing = lookup_entry(parent, name)
	if not existing then return nil end
	local ea = call('GET', k_inode(existing))
	if op_retried(opid) and existing == ino and ea then
		return {0, existing, ea, praw, 0}
	end
	if not excl and typ == T_FILE and ea and unpack_attr(ea).type == T_FILE then
		return {0, existing, ea, praw, 1}
	end
	return {EEXIST, existing, ea or ''}
end

-- As POSIX has it, an existing name wins over a permission the caller lacks.
if not may(pa, uid, gids, 3) then return existing_entry() or {EACCES} end
-- The entry goes in first: HSETNX is the lookup and the insert at once.
if call('HSETNX', k_dir(parent), name, entry_pack(ino, typ, order)) == 0 then
	return existing_entry()
end

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
	call('SET', k_symlink(ino), target)
end
local packed = pack_attr(a)
call('SET', k_inode(ino), packed)
watch(k_inode(ino))
call('ZADD', k_order(parent), id(order), name)
touch(pa, s, ns, true)
local ppacked = pack_attr(pa)
call('SET', kpa, ppacked)
usage_add('inodes', 1)
return {0, ino, packed, ppacked, 0}
