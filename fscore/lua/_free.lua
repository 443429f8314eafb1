-- Freeing slices, chunks and inodes (needs: free; brings dir).
-- The slices of a list go to the deletion log (log_deleted); the list
-- itself is the caller's to delete.
local function log_freed_slices(key)
	for _, rec in ipairs(call('LRANGE', key, '0', '-1')) do log_deleted(rec) end
end

local function free_slice_list(key)
	log_freed_slices(key)
	call('DEL', key)
end

-- Frees the chunks from first_chunk on but chunk 0, which is not in the
-- index (most files have no other).
local function free_indexed_chunks(ino, first_chunk)
	local idxs = call('ZRANGEBYSCORE', k_chunks(ino), first_chunk, '+inf')
	if #idxs == 0 then return end
	for _, idx in ipairs(idxs) do free_slice_list(k_chunk(ino, tonumber(idx))) end
	if first_chunk <= 1 then
		call('DEL', k_chunks(ino))
	else
		call('ZREMRANGEBYSCORE', k_chunks(ino), first_chunk, '+inf')
	end
end

local function free_chunks_from(ino, first_chunk)
	if first_chunk == 0 then free_slice_list(k_chunk(ino, 0)) end
	free_indexed_chunks(ino, math.max(first_chunk, 1))
end

-- Frees an inode with no links left: attributes, data, symlink, xattrs.
-- An orphan (unlinked while open, freed on its last close) also leaves the
-- orphan set.
local function free_inode(ino, a, orphan)
	local keys = {k_inode(ino), k_xattr(ino), k_parents(ino)}
	if a.type == T_FILE then
		log_freed_slices(k_chunk(ino, 0))
		-- Only chunks that start below the size can have slices (writes
		-- raise the size past them; a truncation frees those past it).
		if a.size > CHUNK then free_indexed_chunks(ino, 1) end
		-- (volumes made before chunk 0 left the index may have it there)
		keys[#keys + 1] = k_chunk(ino, 0)
		keys[#keys + 1] = k_chunks(ino)
		if a.size > 0 then usage_add('space', -space_of(a.size)) end
	elseif a.type == T_DIR then
		keys[#keys + 1] = k_dir(ino)
		keys[#keys + 1] = k_order(ino)
	elseif a.type == T_SYMLINK then
		keys[#keys + 1] = k_symlink(ino)
	end
	call('DEL', unpack(keys))
	usage_add('inodes', -1)
	if orphan then call('HDEL', K_ORPHANS, id(ino)) end
end

local function k_open(ino) return P .. ':open:' .. id(ino) end

-- Drops one link of a non-directory; frees it, or parks it as an orphan
-- while some gateway session still has it open (freed on the last close).
-- True when it was freed; else false and its packed attributes.
local function drop_link(ino, a, dir, s, ns)
	a.nlink = a.nlink - 1
	touch(a, s, ns, false)
	if a.type ~= T_DIR and a.nlink > 0 then parent_remove(ino, dir) end
	if a.nlink <= 0 then
		if call('EXISTS', k_open(ino)) == 1 then
			a.nlink = 0
			call('HSET', K_ORPHANS, id(ino), s)
			return false, put_attr(ino, a)
		end
		free_inode(ino, a)
		return true
	end
	return false, put_attr(ino, a)
end

