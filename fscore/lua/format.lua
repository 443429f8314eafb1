-- Creates a volume: settings, counters and the root directory, atomically.
-- KEYS[1] = "{VOL}:setting". ARGV: name, uuid, block_size, region, bucket, force (0/1),
-- root uid, root gid, root mode -> {0} | {EEXIST, existing uuid}
local name, uuid, bsize, region, bucket, force = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6] == '1'
local cur = call('HGET', KEYS[1], 'uuid')
if cur and not force then return {EEXIST, cur} end
local s, ns = now()
call('DEL', KEYS[1], K_COUNTER, K_USAGE, P .. ':regions')
call('HSET', KEYS[1], 'name', name, 'uuid', uuid, 'block_size', bsize, 'chunk_size', CHUNK,
	'format_version', 1, 'created', s, 'source', region)
call('HSET', P .. ':regions', region, 'index=0;mode=source;bucket=' .. bucket)
call('HSET', K_COUNTER, 'inode', 1, 'slice', 0, 'dirseq', 100, 'region_index', 0)
call('HSET', K_USAGE, 'space', 0, 'inodes', 1)
local root = {type = T_DIR, mode = tonumber(ARGV[9]), uid = tonumber(ARGV[7]), gid = tonumber(ARGV[8]),
	nlink = 2, size = 0, atime = s, atime_ns = ns, mtime = s, mtime_ns = ns, ctime = s, ctime_ns = ns,
	rdev_major = 0, rdev_minor = 0, change = 1, parent = 1, gen = 1}
put_attr(1, root)
return {0}
