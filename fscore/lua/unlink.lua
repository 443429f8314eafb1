-- Removes a name: unlink (is_dir 0) or rmdir (is_dir 1).
-- ARGV: opid, name, gids, and packed (little-endian): parent (u64), is_dir,
--       uid (u32)
-- -> {0, parent_attr, ino, attr_or_empty} | {errno}
-- A retry that finds the name gone takes it as removed by its first try.
-- needs: perm free
local opid, name, gids = ARGV[1], ARGV[2], ARGV[3]
local parent, is_dir, uid = sunpack('<I8I4I4', ARGV[4])
is_dir = is_dir == 1
local pa = get_attr(parent)
if not pa then return {ESTALE} end
if pa.type ~= T_DIR then return {ENOTDIR} end
local ino = lookup_entry(parent, name)
if not ino then
	if op_retried(opid) then return {0, pack_attr(pa), 0, ''} end
	return {ENOENT}
end
local a = get_attr(ino)
if not a then
	-- A dangling entry (should not happen): drop it so the name can be reused.
	dir_remove(parent, name)
	return {ENOENT}
end
if not may(pa, uid, gids, 3) or not sticky_ok(pa, a, uid) then return {EACCES} end
local s, ns = now()
if is_dir then
	if a.type ~= T_DIR then return {ENOTDIR} end
	if call('HLEN', k_dir(ino)) > 0 then return {ENOTEMPTY} end
	dir_remove(parent, name)
	pa.nlink = pa.nlink - 1
	free_inode(ino, a)
	touch(pa, s, ns, true)
	return {0, put_attr(parent, pa), ino, ''}
end
if a.type == T_DIR then return {EISDIR} end
dir_remove(parent, name)
local freed, left = drop_link(ino, a, parent, s, ns)
touch(pa, s, ns, true)
return {0, put_attr(parent, pa), ino, freed and '' or left}
