-- Freeing slices, chunks and inodes (needs: free; brings dir).
-- Freed slices go to the deletion log; their blocks are removed later, in
-- every region, after the configured delay.
local function free_slice_list(key)
	local list = call('LRANGE', key, 0, -1)
	for _, rec in ipairs(list) do
		local sid, size, _, _, _, origin = sunpack(SLICE_FMT, rec)
		if sid > 0 then
			call('XADD', K_DELETIONS, '*', 'id', string.format('%d', sid), 'size', size, 'origin', origin)
		end
	end
	call('DEL', key)
end

-- Chunk 0 is not in the index: most files have no other.
local function free_chunks_from(ino, first_chunk)
	if first_chunk == 0 then free_slice_list(k_chunk(ino, 0)) end
	local idxs = call('ZRANGEBYSCORE', k_chunks(ino), first_chunk, '+inf')
	for _, idx in ipairs(idxs) do free_slice_list(k_chunk(ino, tonumber(idx))) end
	call('ZREMRANGEBYSCORE', k_chunks(ino), first_chunk, '+inf')
end

-- Frees an inode with no links left: attributes, data, symlink, xattrs.
local function free_inode(ino, a)
	if a.type == T_FILE then
		free_chunks_from(ino, 0)
		call('DEL', k_chunks(ino))
		usage_add('space', -space_of(a.size))
	elseif a.type == T_DIR then
		call('DEL', k_dir(ino), k_order(ino))
	elseif a.type == T_SYMLINK then
		call('DEL', k_symlink(ino))
	end
	call('DEL', k_inode(ino), k_xattr(ino), k_parents(ino))
	usage_add('inodes', -1)
	call('HDEL', K_ORPHANS, id(ino))
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
		if call('EXISTS', k_open(ino)) == 1 then
			a.nlink = 0
			put_attr(ino, a)
			call('HSET', K_ORPHANS, id(ino), s)
		else
			free_inode(ino, a)
			return true
		end
	else
		put_attr(ino, a)
	end
	return false
end

