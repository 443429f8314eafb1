-- Swaps the first n slice records of a chunk for one compacted slice, if
-- they are still what the compactor read; frees the replaced slices.
-- ARGV: opid, ino, chunk index, n, the n records concatenated, new record
-- -> {0} | {EAGAIN} (changed meanwhile: the new slice is freed instead)
local opid = ARGV[1]
local done = op_result(opid)
if done then return done end
local ino, idx, n, expect, rec = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local key = k_chunk(ino, idx)
local head = call('LRANGE', key, 0, n - 1)
if #head ~= n or table.concat(head) ~= expect then
	log_deleted(rec)
	return op_finish(opid, {11})
end
call('LTRIM', key, n, -1)
call('LPUSH', key, rec)
for _, r in ipairs(head) do log_deleted(r) end
log_changed(rec, ino)
return op_finish(opid, {0})
