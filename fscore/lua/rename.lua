-- POSIX rename in one step, replacing an existing target where allowed.
-- ARGV: opid, src_dir, src_name, dst_dir, dst_name, uid, gids, noreplace (0/1)
-- -> {0, src_dir_attr, dst_dir_attr, ino, attr, replaced_ino, replaced_attr_or_empty} | {errno}
-- needs: perm free
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local sdir, sname, ddir, dname = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local uid, gids, noreplace = tonumber(ARGV[6]), ARGV[7], ARGV[8] == '1'

local sa = get_attr(sdir)
local da = get_attr(ddir)
if not sa or not da then return op_finish(opid, {ESTALE}) end
if sa.type ~= T_DIR or da.type ~= T_DIR then return op_finish(opid, {ENOTDIR}) end
if da.nlink == 0 then return op_finish(opid, {ENOENT}) end
local ino = lookup_entry(sdir, sname)
if not ino then return op_finish(opid, {ENOENT}) end
local a = get_attr(ino)
if not a then return op_finish(opid, {ENOENT}) end
if not may(sa, uid, gids, 3) or not may(da, uid, gids, 3) or not sticky_ok(sa, a, uid) then
	return op_finish(opid, {EACCES})
end
local s, ns = now()
local victim = lookup_entry(ddir, dname)
if victim == ino then
	-- Same file under both names: POSIX says do nothing.
	return op_finish(opid, {0, pack_attr(sa), pack_attr(da), ino, pack_attr(a), 0, ''})
end
-- A directory may not move into its own subtree.
if a.type == T_DIR and sdir ~= ddir then
	local walk, hops = ddir, 0
	while walk ~= 1 and hops < 100000 do
		if walk == ino then return op_finish(opid, {EINVAL}) end
		local wa = get_attr(walk)
		if not wa then break end
		walk, hops = wa.parent, hops + 1
	end
end
local va
if victim then
	if noreplace then return op_finish(opid, {EEXIST}) end
	va = get_attr(victim)
	if va then
		if not sticky_ok(da, va, uid) then return op_finish(opid, {EACCES}) end
		if a.type == T_DIR and va.type ~= T_DIR then return op_finish(opid, {ENOTDIR}) end
		if a.type ~= T_DIR and va.type == T_DIR then return op_finish(opid, {EISDIR}) end
		if va.type == T_DIR and call('HLEN', k_dir(victim)) > 0 then
			return op_finish(opid, {ENOTEMPTY})
		end
	end
	dir_remove(ddir, dname)
	if va then
		if va.type == T_DIR then
			da.nlink = da.nlink - 1
			free_inode(victim, va)
		else
			drop_link(victim, va, ddir, s, ns)
		end
	end
end
dir_remove(sdir, sname)
dir_add(ddir, dname, ino, a.type)
if a.type == T_DIR then
	if sdir ~= ddir then
		sa.nlink = sa.nlink - 1
		da.nlink = da.nlink + 1
		a.parent = ddir
	end
elseif sdir ~= ddir then
	parent_remove(ino, sdir)
	parent_add(ino, a, ddir)
end
touch(a, s, ns, false)
local packed = put_attr(ino, a)
touch(sa, s, ns, true)
local spacked, dpacked
if sdir == ddir then
	sa.nlink = da.nlink
	spacked = put_attr(sdir, sa)
	dpacked = spacked
else
	touch(da, s, ns, true)
	spacked = put_attr(sdir, sa)
	dpacked = put_attr(ddir, da)
end
local vleft = ''
if victim and va then vleft = call('GET', k_inode(victim)) or '' end
return op_finish(opid, {0, spacked, dpacked, ino, packed, victim or 0, vleft})
