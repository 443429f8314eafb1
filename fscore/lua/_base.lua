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
--
-- The same text runs two ways (embed.sh): as the library of Redis
-- functions, loaded once, whose helpers then serve every call; and, where
-- functions cannot be used, in front of each script for EVAL. Either way
-- nothing here may touch a global before bind(): a library's top level
-- runs where only redis.register_function exists.
local P, K_COUNTER, K_USAGE, K_CHANGES, K_DELETIONS, K_ORPHANS
local call, spack, sunpack
-- Points the helpers at the volume of this call's KEYS[1].
local function bind(keys)
	call, spack, sunpack = redis.call, struct.pack, struct.unpack
	local p = string.sub(keys[1], 1, -9) -- strip ":setting"
	if p == P then return end
	P = p
	K_COUNTER, K_USAGE, K_CHANGES = P .. ':counter', P .. ':usage', P .. ':changes'
	K_DELETIONS, K_ORPHANS = P .. ':deletions', P .. ':orphans'
end
local ENOENT, EEXIST, ENOTDIR, EISDIR, EINVAL, ENOTEMPTY, EXDEV, EPERM, EFBIG, ESTALE, ENOSPC, EMLINK, ENODATA, ERANGE, EACCES =
	2, 17, 20, 21, 22, 39, 18, 1, 27, 116, 28, 31, 61, 34, 13
local T_FILE, T_DIR, T_SYMLINK = 1, 2, 3
local ATTR_FMT = '<BBHI4I4I4I8i8I4i8I4i8I4I4I4I8I8I4'
local CHUNK = 64 * 1024 * 1024
local SLICE_FMT = '<I8I4I4I4I4H'

-- Numbers as decimal strings, remembered: a call formats the same few
-- (its inodes, 0, a block size) several times, and a number handed to
-- redis.call as such is formatted again, as a float, inside Redis.
local ids, nids = {}, 0
local function id(n)
	local s = ids[n]
	if s then return s end
	if nids >= 256 then ids, nids = {}, 0 end
	s = string.format('%d', n)
	ids[n], nids = s, nids + 1
	return s
end
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

local function now()
	local t = call('TIME')
	return tonumber(t[1]), tonumber(t[2]) * 1000
end

-- One table constructor: it is sized once, where filling an empty table
-- field by field grows it five times (a good part of a small script's time).
local function unpack_attr(s)
	if not s then return nil end
	local ver, typ, mode, uid, gid, nlink, size, atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns,
		rdev_major, rdev_minor, change, parent, gen = sunpack(ATTR_FMT, s)
	return {ver = ver, type = typ, mode = mode, uid = uid, gid = gid, nlink = nlink, size = size,
		atime = atime, atime_ns = atime_ns, mtime = mtime, mtime_ns = mtime_ns, ctime = ctime,
		ctime_ns = ctime_ns, rdev_major = rdev_major, rdev_minor = rdev_minor, change = change,
		parent = parent, gen = gen}
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
	call('HINCRBY', K_USAGE, field, id(delta))
end

-- A freed slice goes to the deletion log: its blocks are removed later, in
-- every region, after the configured delay. A committed one goes to the
-- change log, which the replicators copy its blocks from. Hole slices (id
-- 0) have no blocks.
local function log_deleted(rec)
	local sid, size, _, _, _, origin = sunpack(SLICE_FMT, rec)
	if sid > 0 then
		call('XADD', K_DELETIONS, '*', 'id', id(sid), 'size', id(size), 'origin', id(origin))
	end
end

local function log_changed(rec, ino)
	local sid, size, _, _, _, origin = sunpack(SLICE_FMT, rec)
	if sid > 0 then
		call('XADD', K_CHANGES, 'MAXLEN', '~', '1000000', '*', 'id', id(sid), 'size', id(size),
			'origin', id(origin), 'ino', id(ino))
	end
end
