-- ARGV: opid, ino, mask, mode, uid, gid, size, atime_s, atime_ns, mtime_s, mtime_ns,
--       caller_uid, caller_gids, guard_ctime_s, guard_ctime_ns
-- mask: 1 mode, 2 uid, 4 gid, 8 size, 16 atime, 32 mtime, 64 atime=now, 128 mtime=now,
--       256 guard (fail with EAGAIN-as-"not same" unless ctime matches the guard)
-- -> {0, attr} | {errno[, attr]}
-- needs: perm free
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local ino, mask = tonumber(ARGV[2]), tonumber(ARGV[3])
local mode, nuid, ngid, size = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local at_s, at_ns, mt_s, mt_ns = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local uid, gids = tonumber(ARGV[12]), ARGV[13]
local ENOTSAME = 11 -- EAGAIN, reported by the caller as "guard mismatch"
local function has(b) return bit.band(mask, b) ~= 0 end

local a = get_attr(ino)
if not a then return op_finish(opid, {ESTALE}) end
if has(256) and (a.ctime ~= tonumber(ARGV[14]) or a.ctime_ns ~= tonumber(ARGV[15])) then
	return op_finish(opid, {ENOTSAME, pack_attr(a)})
end
local owner = uid == 0 or uid == a.uid
if (has(1) or has(16) or has(32)) and not owner then return op_finish(opid, {EPERM}) end
if (has(64) or has(128)) and not owner and not may(a, uid, gids, 2) then return op_finish(opid, {EACCES}) end
if has(2) and uid ~= 0 and nuid ~= a.uid then return op_finish(opid, {EPERM}) end
if has(4) and uid ~= 0 and ngid ~= a.gid and (uid ~= a.uid or not in_groups(ngid, gids)) then
	return op_finish(opid, {EPERM})
end
if has(8) then
	if a.type == T_DIR then return op_finish(opid, {EISDIR}) end
	if a.type ~= T_FILE then return op_finish(opid, {EINVAL}) end
	if not may(a, uid, gids, 2) and uid ~= a.uid then return op_finish(opid, {EACCES}) end
end

local s, ns = now()
local content = false
if has(1) then
	a.mode = bit.band(mode, 4095)
	if uid ~= 0 and a.type ~= T_DIR and not in_groups(a.gid, gids) and a.gid ~= 0 then
		a.mode = bit.band(a.mode, bit.bnot(1024)) -- setgid needs group membership
	end
end
if (has(2) and nuid ~= a.uid) or (has(4) and ngid ~= a.gid) then
	if a.type ~= T_DIR then a.mode = bit.band(a.mode, bit.bnot(3072)) end -- chown drops suid/sgid
end
if has(2) then a.uid = nuid end
if has(4) then a.gid = ngid end
if has(8) and size ~= a.size then
	local old = a.size
	if size < old then
		local keep_chunks = 0
		if size > 0 then keep_chunks = math.floor((size - 1) / CHUNK) + 1 end
		free_chunks_from(ino, keep_chunks)
		-- The chunk holding the new end keeps its slices; a hole slice hides
		-- whatever lay past the end, should the file grow again.
		local pos = size % CHUNK
		if pos ~= 0 then
			local idx = math.floor(size / CHUNK)
			local chunk_end = math.min(CHUNK, old - idx * CHUNK)
			if chunk_end > pos and call('EXISTS', k_chunk(ino, idx)) == 1 then
				call('RPUSH', k_chunk(ino, idx), spack(SLICE_FMT, 0, 0, 0, pos, chunk_end - pos, 0))
			end
		end
	end
	usage_add('space', space_of(size) - space_of(old))
	a.size = size
	content = true
end
if has(64) then a.atime, a.atime_ns = s, ns elseif has(16) then a.atime, a.atime_ns = at_s, at_ns end
if has(128) then a.mtime, a.mtime_ns = s, ns elseif has(32) then a.mtime, a.mtime_ns = mt_s, mt_ns end
touch(a, s, ns, content)
local packed = put_attr(ino, a)
watch(k_inode(ino))
return op_finish(opid, {0, packed})
