-- Appends a written slice to a chunk; its blocks are already in the bucket.
-- ARGV: opid, packed slice, and packed (little-endian): ino, chunk index,
--       new end offset (pos in file) (u64), uid (non-zero clears suid/sgid),
--       writes merged into the slice (change attribute bump) (u32)
-- -> {0, attr, slices_in_chunk} | {errno}
-- A retry whose first try was applied finds its record (slice ids are
-- unique) and changes nothing: appending it again could shadow a slice
-- committed since.
local opid = ARGV[1]
local rec = ARGV[2]
local ino, idx, fend, uid, merged = sunpack('<I8I8I8I4I4', ARGV[3])
local kattr, kchunk = k_inode(ino), k_chunk(ino, idx)
local a = unpack_attr(call('GET', kattr))
if not a then
	-- The file is gone: the blocks just written are garbage now.
	log_deleted(rec)
	return {ESTALE}
end
if a.type ~= T_FILE then return {EINVAL} end
if op_retried(opid) and call('LPOS', kchunk, rec) then
	return {0, pack_attr(a), call('LLEN', kchunk)}
end
local n = call('RPUSH', kchunk, rec)
-- Chunk 0 is not indexed (free_chunks_from): most files have no other.
if idx > 0 then call('ZADD', k_chunks(ino), idx, id(idx)) end
local s, ns = now()
if fend > a.size then
	usage_add('space', space_of(fend) - space_of(a.size))
	a.size = fend
end
-- A write by anyone drops setuid/setgid, as local file systems do.
if uid ~= 0 then a.mode = bit.band(a.mode, bit.bnot(3072)) end
touch(a, s, ns, true)
a.change = a.change + math.max(0, merged - 1)
local packed = pack_attr(a)
call('SET', kattr, packed)
watch(kattr)
log_changed(rec, ino)
return {0, packed, n}
