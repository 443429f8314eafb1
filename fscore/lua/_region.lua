-- Region records "index=N;mode=M;bucket=URL[;replica=URL]" as an ordered
-- list of {key, value}, so that rewriting one field keeps the others (also
-- fields a newer mcfs may add) in place.
local function region_parse(s)
	local r = {}
	for part in string.gmatch(s or '', '[^;]+') do
		local k, v = string.match(part, '^([%w_]+)=(.*)$')
		if k then r[#r + 1] = {k, v} end
	end
	return r
end
local function region_get(r, key)
	for _, kv in ipairs(r) do
		if kv[1] == key then return kv[2] end
	end
	return nil
end
local function region_set(r, key, value)
	for _, kv in ipairs(r) do
		if kv[1] == key then kv[2] = value return end
	end
	r[#r + 1] = {key, value}
end
local function region_pack(r)
	local out = {}
	for _, kv in ipairs(r) do out[#out + 1] = kv[1] .. '=' .. kv[2] end
	return table.concat(out, ';')
end
