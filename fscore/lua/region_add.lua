-- Adds a region: the checks and the index allocation happen in one script, so
-- two concurrent adds can neither share an index (it is the slices' origin,
-- never reused) nor a name, a bucket or a metadata replica.
-- KEYS[1] = "{VOL}:setting". ARGV: opid, name, max regions, mode, bucket, replica
-- -> {0, index} | {ENOENT} (no volume) | {EEXIST, what, other region} | {ENOSPC, count}
-- needs: region
local done = op_result(ARGV[1])
if done then return done end
local name, max, mode, bucket, replica = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
if call('EXISTS', KEYS[1]) == 0 then return {ENOENT} end
local K_REGIONS = P .. ':regions'
if call('HEXISTS', K_REGIONS, name) == 1 then return {EEXIST, 'name', name} end
local all = call('HGETALL', K_REGIONS)
if #all / 2 >= max then return {ENOSPC, #all / 2} end
for i = 1, #all, 2 do
	local r = region_parse(all[i + 1])
	if bucket ~= '' and region_get(r, 'bucket') == bucket then
		return {EEXIST, 'bucket', all[i]}
	end
	if replica ~= '' and region_get(r, 'replica') == replica then
		return {EEXIST, 'replica', all[i]}
	end
end
local index = call('HINCRBY', K_COUNTER, 'region_index', 1)
-- "bucket=" even when empty (meta-only): older readers require the field.
local rec = {{'index', string.format('%d', index)}, {'mode', mode}, {'bucket', bucket}}
if replica ~= '' then rec[#rec + 1] = {'replica', replica} end
call('HSET', K_REGIONS, name, region_pack(rec))
return op_finish(ARGV[1], {0, index})
