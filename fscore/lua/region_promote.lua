-- Makes a mirror region the source after the source was lost: the volume's
-- source, both regions' modes and the promotion count change together, so a
-- gateway never sees two sources or none.
-- KEYS[1] = "{VOL}:setting". ARGV: opid, name, replica URL for the old source ('' keeps its own)
-- -> {0, old source, promotions} | {ENOENT} | {EALREADY} | {EINVAL, mode}
-- needs: region
local EALREADY = 114
local done = op_result(ARGV[1])
if done then return done end
local name, old_replica = ARGV[2], ARGV[3]
local K_REGIONS = P .. ':regions'
local old = call('HGET', KEYS[1], 'source')
if not old then return {ENOENT} end
local rec = call('HGET', K_REGIONS, name)
if not rec then return {ENOENT} end
if old == name then return {EALREADY} end
local r = region_parse(rec)
local mode = region_get(r, 'mode')
if mode ~= 'mirror' or (region_get(r, 'bucket') or '') == '' then return {EINVAL, mode or ''} end
region_set(r, 'mode', 'source')
call('HSET', K_REGIONS, name, region_pack(r))
local orec = call('HGET', K_REGIONS, old)
if orec then
	local o = region_parse(orec)
	-- It comes back, if ever, as a replica of the new source: a mirror.
	region_set(o, 'mode', 'mirror')
	if old_replica ~= '' then region_set(o, 'replica', old_replica) end
	call('HSET', K_REGIONS, old, region_pack(o))
end
local s = now()
call('HSET', KEYS[1], 'source', name, 'promoted_at', s)
local n = call('HINCRBY', KEYS[1], 'promotions', 1)
return op_finish(ARGV[1], {0, old, n})
