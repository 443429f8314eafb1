-- Permission checks (needs: perm).
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

