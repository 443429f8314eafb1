-- Removes a name: unlink (is_dir 0) or rmdir (is_dir 1).
-- ARGV: opid, parent, name, is_dir, uid, gids
-- -> {0, parent_attr, ino, attr_or_empty} | {errno}
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local parent, name, is_dir, uid, gids = tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1',
	tonumber(ARGV[5]), ARGV[6]
local pa = get_attr(parent)
if not pa then return op_finish(opid, {ESTALE}) end
if pa.type ~= T_DIR then return op_finish(opid, {ENOTDIR}) end
local ino = lookup_entry(parent, name)
if not ino then return op_finish(opid, {ENOENT}) end
local a = get_attr(ino)
if not a then
	-- A dangling entry (should not happen): drop it so the name can be reused.
	dir_remove(parent, name)
	return op_finish(opid, {ENOENT})
end
if not may(pa, uid, gids, 3) or not sticky_ok(pa, a, uid) then return op_finish(opid, {EACCES}) end
local s, ns = now()
if is_dir then
	if a.type ~= T_DIR then return op_finish(opid, {ENOTDIR}) end
	if redis.call('HLEN', k_dir(ino)) > 0 then return op_finish(opid, {ENOTEMPTY}) end
	dir_remove(parent, name)
	pa.nlink = pa.nlink - 1
	free_inode(ino, a)
	touch(pa, s, ns, true)
	put_attr(parent, pa)
	return op_finish(opid, {0, pack_attr(pa), ino, ''})
end
if a.type == T_DIR then return op_finish(opid, {EISDIR}) end
dir_remove(parent, name)
drop_link(ino, a, parent, s, ns)
touch(pa, s, ns, true)
put_attr(parent, pa)
local left = redis.call('GET', k_inode(ino)) or ''
return op_finish(opid, {0, pack_attr(pa), ino, left})
