-- The prelude of every script (embed.sh); parts of its own a script asks
-- for with a "-- needs:" line: perm, dir, free, region.
-- Conventions: KEYS[1] is the volume's settings key "{VOL}:setting"; every
-- other key shares its hash tag, so a volume lives on one cluster slot.
-- Mutating scripts take ARGV[1] = operation id. A call tried again after its
-- connection failed (the first try may have been applied, its reply lost)
-- ends the id with '+' (meta_eval_op). Scripts whose effect cannot be seen
-- again remember their result for a while under the id, so that the retry
-- answers it instead of applying twice; the others recognise their own
-- earlier effect, which costs nothing on a first try.
-- Replies are arrays whose first element is 0 or a positive errno.
local P = string.sub(KEYS[1], 1, -9) -- strip ":setting"
local call, spack, sunpack = redis.call, struct.pack, struct.unpack
local ENOENT, EEXIST, ENOTDIR, EISDIR, EINVAL, ENOTEMPTY, EXDEV, EPERM, EFBIG, ESTALE, ENOSPC, EMLINK, ENODATA, ERANGE, EACCES =
	2, 17, 20, 21, 22, 39, 18, 1, 27, 116, 28, 31, 61, 34, 13
local T_FILE, T_DIR, T_SYMLINK = 1, 2, 3
local ATTR_FMT = '<BBHI4I4I4I8i8I4i8I4i8I4I4I4I8I8I4'
local CHUNK = 64 * 1024 * 1024
local SLICE_FMT = '<I8I4I4I4I4H'

local function id(n) return string.format('%d', n) end
local function k_inode(ino) return P .. ':i:' .. id(ino) end
local function k_dir(ino) return P .. ':d:' .. id(ino) end
local function k_order(ino) return P .. ':o:' .. id(ino) end
local function k_chunk(ino, idx) return P .. ':c:' .. id(ino) .. ':' .. id(idx) end
local function k_symlink(ino) return P .. ':s:' .. id(ino) end
local function k_xattr(ino) return P .. ':x:' .. id(ino) end
local function k_parents(ino) return P .. ':p:' .. id(ino) end
-- The chunk indexes a file has data in: a sorted set, so that freeing a huge
-- sparse file costs its chunks, not its size.
local function k_chunks(ino) return P .. ':k:' .. id(ino) end
local K_COUNTER = P .. ':counter'
local K_USAGE = P .. ':usage'
local K_CHANGES = P .. ':changes'
local K_DELETIONS = P .. ':deletions'
local K_ORPHANS = P .. ':orphans'

local function now()
	local t = call('TIME')
	return tonumber(t[1]), tonumber(t[2]) * 1000
end

local function unpack_attr(s)
	if not s then return nil end
	local a = {}
	a.ver, a.type, a.mode, a.uid, a.gid, a.nlink, a.size, a.atime, a.atime_ns, a.mtime, a.mtime_ns,
	a.ctime, a.ctime_ns, a.rdev_major, a.rdev_minor, a.change, a.parent, a.gen = sunpack(ATTR_FMT, s)
	return a
end

local function pack_attr(a)
	return spack(ATTR_FMT, 1, a.type, a.mode, a.uid, a.gid, a.nlink, a.size, a.atime, a.atime_ns,
		a.mtime, a.mtime_ns, a.ctime, a.ctime_ns, a.rdev_major, a.rdev_minor, a.change, a.parent, a.gen)
end

-- A key read back after the script wrote it: a gateway that caches what it
-- returns hears of the key's next change (Redis tracks the keys a connection
-- reads, and a write by that connection stopped tracking this one).
local function watch(key) call('EXISTS', key) end

local function get_attr(ino) return unpack_attr(call('GET', k_inode(ino))) end
-- Returns the packed attributes, for a script that answers with them too
-- (packing is a good part of a small script's time).
local function put_attr(ino, a)
	local packed = pack_attr(a)
	call('SET', k_inode(ino), packed)
	return packed
end

-- ctime (and mtime for content changes) move forward, and so does the change counter.
local function touch(a, s, ns, content)
	if content then a.mtime, a.mtime_ns = s, ns end
	a.ctime, a.ctime_ns = s, ns
	a.change = a.change + 1
end

local function op_retried(opid) return opid ~= nil and string.sub(opid, -1) == '+' end
local function op_key(opid)
	if op_retried(opid) then opid = string.sub(opid, 1, -2) end
	return P .. ':op:' .. opid
end

local function op_result(opid)
	if not op_retried(opid) then return nil end
	local r = call('GET', op_key(opid))
	if r then return cmsgpack.unpack(r) end
	return nil
end

local function op_finish(opid, result)
	if opid ~= nil and opid ~= '' then
		call('SET', op_key(opid), cmsgpack.pack(result), 'EX', 600)
	end
	return result
end

local function space_of(size) return math.ceil(size / 4096) * 4096 end
-- Integers as '%d': a Lua number could print as "-0" or "1e+15", which Redis refuses.
local function usage_add(field, delta)
	call('HINCRBY', K_USAGE, field, string.format('%d', delta))
end

-- Freed slices go to the deletion log; their blocks are removed later, in
-- every region, after the configured delay.
