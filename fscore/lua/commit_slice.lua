-- Appends a written slice to a chunk; its blocks are already in the bucket.
-- ARGV: opid, ino, chunk index, packed slice, new end offset (pos in file),
--       uid (non-zero clears suid/sgid), writes merged into the slice (change attribute bump)
-- -> {0, attr, slices_in_chunk} | {errno}
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local ino, idx, rec, fend = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local a = get_attr(ino)
if not a then
	-- The file is gone: the blocks just written are garbage now.
	local sid, size, _, _, _, origin = struct.unpack(SLICE_FMT, rec)
	redis.call('XADD', K_DELETIONS, '*', 'id', id(sid), 'size', size, 'origin', origin)
	return op_finish(opid, {ESTALE})
end
if a.type ~= T_FILE then return op_finish(opid, {EINVAL}) end
local n = redis.call('RPUSH', k_chunk(ino, idx), rec)
redis.call('ZADD', k_chunks(ino), idx, id(idx))
local s, ns = now()
if fend > a.size then
	usage_add('space', space_of(fend) - space_of(a.size))
	a.size = fend
end
-- A write by anyone drops setuid/setgid, as local file systems do.
if tonumber(ARGV[6]) ~= 0 then a.mode = bit.band(a.mode, bit.bnot(3072)) end
touch(a, s, ns, true)
a.change = a.change + math.max(0, (tonumber(ARGV[7]) or 1) - 1)
put_attr(ino, a)
local sid, size, _, _, _, origin = struct.unpack(SLICE_FMT, rec)
redis.call('XADD', K_CHANGES, 'MAXLEN', '~', 1000000, '*', 'id', id(sid), 'size', size, 'origin', origin, 'ino', id(ino))
return op_finish(opid, {0, pack_attr(a), n})
