-- Shared prelude, prepended to every script by embed.sh.
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
	local t = redis.call('TIME')
	return tonumber(t[1]), tonumber(t[2]) * 1000
end

local function unpack_attr(s)
	if not s then return nil end
	local a = {}
	a.ver, a.type, a.mode, a.uid, a.gid, a.nlink, a.size, a.atime, a.atime_ns, a.mtime, a.mtime_ns,
	a.ctime, a.ctime_ns, a.rdev_major, a.rdev_minor, a.change, a.parent, a.gen = struct.unpack(ATTR_FMT, s)
	return a
end

local function pack_attr(a)
	return struct.pack(ATTR_FMT, 1, a.type, a.mode, a.uid, a.gid, a.nlink, a.size, a.atime, a.atime_ns,
		a.mtime, a.mtime_ns, a.ctime, a.ctime_ns, a.rdev_major, a.rdev_minor, a.change, a.parent, a.gen)
end

local function get_attr(ino) return unpack_attr(redis.call('GET', k_inode(ino))) end
local function put_attr(ino, a) redis.call('SET', k_inode(ino), pack_attr(a)) end

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
	local r = redis.call('GET', op_key(opid))
	if r then return cmsgpack.unpack(r) end
	return nil
end

local function op_finish(opid, result)
	if opid ~= nil and opid ~= '' then
		redis.call('SET', op_key(opid), cmsgpack.pack(result), 'EX', 600)
	end
	return result
end

local function space_of(size) return math.ceil(size / 4096) * 4096 end
-- Integers as '%d': a Lua number could print as "-0" or "1e+15", which Redis refuses.
local function usage_add(field, delta)
	redis.call('HINCRBY', K_USAGE, field, string.format('%d', delta))
end

-- Freed slices go to the deletion log; their blocks are removed later, in
-- every region, after the configured delay.
local function free_slice_list(key)
	local list = redis.call('LRANGE', key, 0, -1)
	for _, rec in ipairs(list) do
		local sid, size, _, _, _, origin = struct.unpack(SLICE_FMT, rec)
		if sid > 0 then
			redis.call('XADD', K_DELETIONS, '*', 'id', string.format('%d', sid), 'size', size, 'origin', origin)
		end
	end
	redis.call('DEL', key)
end

-- Chunk 0 is not in the index: most files have no other.
local function free_chunks_from(ino, first_chunk)
	if first_chunk == 0 then free_slice_list(k_chunk(ino, 0)) end
	local idxs = redis.call('ZRANGEBYSCORE', k_chunks(ino), first_chunk, '+inf')
	for _, idx in ipairs(idxs) do free_slice_list(k_chunk(ino, tonumber(idx))) end
	redis.call('ZREMRANGEBYSCORE', k_chunks(ino), first_chunk, '+inf')
end

-- Frees an inode with no links left: attributes, data, symlink, xattrs.
local function free_inode(ino, a)
	if a.type == T_FILE then
		free_chunks_from(ino, 0)
		redis.call('DEL', k_chunks(ino))
		usage_add('space', -space_of(a.size))
	elseif a.type == T_DIR then
		redis.call('DEL', k_dir(ino), k_order(ino))
	elseif a.type == T_SYMLINK then
		redis.call('DEL', k_symlink(ino))
	end
	redis.call('DEL', k_inode(ino), k_xattr(ino), k_parents(ino))
	usage_add('inodes', -1)
	redis.call('HDEL', K_ORPHANS, id(ino))
end

local function entry_pack(ino, typ) return struct.pack('<I8B', ino, typ) end
local function entry_unpack(s) return struct.unpack('<I8B', s) end

local function dir_add(dir, name, ino, typ)
	local seq = redis.call('HINCRBY', K_COUNTER, 'dirseq', 1)
	redis.call('HSET', k_dir(dir), name, entry_pack(ino, typ))
	redis.call('ZADD', k_order(dir), seq, name)
end

local function dir_remove(dir, name)
	redis.call('HDEL', k_dir(dir), name)
	redis.call('ZREM', k_order(dir), name)
end

-- Hard-link parents of a file: its attributes name the parent it was made
-- in or last moved to; once it has a second link, a hash parent -> link
-- count names them all (so a file with one link costs no extra key).
local function parent_add(ino, a, dir)
	if a.nlink <= 1 and redis.call('EXISTS', k_parents(ino)) == 0 then
		a.parent = dir
		return
	end
	if redis.call('EXISTS', k_parents(ino)) == 0 then
		redis.call('HSET', k_parents(ino), id(a.parent), 1)
	end
	redis.call('HINCRBY', k_parents(ino), id(dir), 1)
end
local function parent_remove(ino, dir)
	if redis.call('EXISTS', k_parents(ino)) == 0 then return end
	if redis.call('HINCRBY', k_parents(ino), id(dir), -1) <= 0 then
		redis.call('HDEL', k_parents(ino), id(dir))
	end
end

local function k_open(ino) return P .. ':open:' .. id(ino) end

-- Drops one link of a non-directory; frees it, or parks it as an orphan
-- while some gateway session still has it open (freed on the last close).
-- True when it was freed.
local function drop_link(ino, a, dir, s, ns)
	a.nlink = a.nlink - 1
	touch(a, s, ns, false)
	if a.type ~= T_DIR and a.nlink > 0 then parent_remove(ino, dir) end
	if a.nlink <= 0 then
		if redis.call('EXISTS', k_open(ino)) == 1 then
			a.nlink = 0
			put_attr(ino, a)
			redis.call('HSET', K_ORPHANS, id(ino), s)
		else
			free_inode(ino, a)
			return true
		end
	else
		put_attr(ino, a)
	end
	return false
end

-- Credentials arrive as ARGV "uid" and "gid,gid,...": permission checks run
-- here, against the same attributes the change is made to.
local function in_groups(gid, gids)
	for g in string.gmatch(gids, '[^,]+') do
		if tonumber(g) == gid then return true end
	end
	return false
end

local function may(a, uid, gids, bits)
	if uid == 0 then
		-- root needs an x bit somewhere to execute a file, never for dirs
		if bits == 1 and a.type ~= T_DIR then return bit.band(a.mode, 73) ~= 0 end
		return true
	end
	local shift = 0
	if a.uid == uid then shift = 6 elseif in_groups(a.gid, gids) then shift = 3 end
	return bit.band(bit.rshift(a.mode, shift), bits) == bits
end

-- Sticky directories: only the owner of the entry or of the directory (or root) may remove it.
local function sticky_ok(dir_attr, victim, uid)
	if uid == 0 or bit.band(dir_attr.mode, 512) == 0 then return true end
	return victim.uid == uid or dir_attr.uid == uid
end

local function lookup_entry(dir, name)
	local e = redis.call('HGET', k_dir(dir), name)
	if not e then return nil end
	return entry_unpack(e)
end

-- Region records "index=N;mode=M;bucket=URL[;replica=URL]" as an ordered
-- list of {key, value}, so that rewriting one field keeps the others (also
-- fields a newer mcfs may add) in place.
local function region_parse(s)
	local r = {}
	for part in string.gmatch(s or '', '[^;]+') do
		local k, v = string.match(part, '^([%w_]+)=(.*)$')
		if k then r[#r + 1] = {k, v} end
	end
	return r
end
local function region_get(r, key)
	for _, kv in ipairs(r) do
		if kv[1] == key then return kv[2] end
	end
	return nil
end
local function region_set(r, key, value)
	for _, kv in ipairs(r) do
		if kv[1] == key then kv[2] = value return end
	end
	r[#r + 1] = {key, value}
end
local function region_pack(r)
	local out = {}
	for _, kv in ipairs(r) do out[#out + 1] = kv[1] .. '=' .. kv[2] end
	return table.concat(out, ';')
end
