-- Directory entries and hard-link parents (needs: dir).
-- An entry is <inode u64, type u8, cookie u64>: the cookie is also the
-- name's score in the order set, and a listing reads it here rather than as
-- a score, which Redis formats as a float, slowly. Entries made before the
-- cookie was kept are 9 bytes; listings ask the order set for theirs.
local function entry_pack(ino, typ, seq) return spack('<I8BI8', ino, typ, seq) end
local function entry_unpack(s) return sunpack('<I8B', s) end

local function dir_add(dir, name, ino, typ)
	local seq = call('HINCRBY', K_COUNTER, 'dirseq', '1')
	call('HSET', k_dir(dir), name, entry_pack(ino, typ, seq))
	call('ZADD', k_order(dir), seq, name)
end

local function dir_remove(dir, name)
	call('HDEL', k_dir(dir), name)
	call('ZREM', k_order(dir), name)
end

local function lookup_entry(dir, name)
	local e = call('HGET', k_dir(dir), name)
	if not e then return nil end
	return entry_unpack(e)
end

-- Hard-link parents of a file: its attributes name the parent it was made
-- in or last moved to; once it has a second link, a hash parent -> link
-- count names them all (so a file with one link costs no extra key).
local function parent_add(ino, a, dir)
	if a.nlink <= 1 and call('EXISTS', k_parents(ino)) == 0 then
		a.parent = dir
		return
	end
	if call('EXISTS', k_parents(ino)) == 0 then
		call('HSET', k_parents(ino), id(a.parent), 1)
	end
	call('HINCRBY', k_parents(ino), id(dir), 1)
end
local function parent_remove(ino, dir)
	if call('EXISTS', k_parents(ino)) == 0 then return end
	if call('HINCRBY', k_parents(ino), id(dir), -1) <= 0 then
		call('HDEL', k_parents(ino), id(dir))
	end
end

