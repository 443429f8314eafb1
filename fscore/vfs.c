/* Opening and closing a volume, per-file state, and background upkeep. */
#include "vfs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layout.h"
#include "log.h"
#include "maintenance.h"
#include "meta_ops.h"
#include "resp.h"
#include "vfs_impl.h"
#include "writer.h"
#include "thread_name.h"

/* Numbers taken from a volume counter at once; a restart wastes at most this many. */
#define ID_BATCH	  1000
#define HEARTBEAT_SECONDS 10

static int find_region(struct vfs *v, struct meta *boot, const char *want, char *err, size_t errlen)
{
	struct region_info regions[MCFS_MAX_REGIONS];
	size_t n = 0;
	int r = volume_regions(boot, v->vol.name, regions, MCFS_MAX_REGIONS, &n);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the regions of volume %s: %s", v->vol.name,
			 strerror(-r));
		return r;
	}
	const char *name = want && *want ? want : v->vol.source_region;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(regions[i].name, name) == 0) {
			v->region = regions[i];
			return 0;
		}
	}
	snprintf(err, errlen, "volume %s has no region named '%s'", v->vol.name, name);
	return -ENOENT;
}

static int register_session(struct vfs *v)
{
	char key[128];
	redisReply *r = NULL;
	int rc = meta_cmdf(vfs_meta(v), &r, "HSET %s %s %lld",
			   volume_key(key, sizeof(key), v->vol.name, "sessions"), v->session,
			   (long long)time(NULL));
	if (r)
		meta_reply_free(r);
	return rc;
}

static void *background_main(void *arg);

/* The volume's settings and this gateway's region, read through a first
 * connection to the source before the route (which depends on the region's
 * mode) is set up. */
static int load_volume(struct vfs *v, const struct vfs_options *opt, char *err, size_t errlen)
{
	struct meta *boot = NULL;
	struct meta_options mo = {.url = opt->meta_url, .password = opt->meta_password};
	int r = meta_connect(&mo, &boot, err, errlen);
	if (r < 0)
		return r;
	char name[64];
	r = volume_find(boot, name, sizeof(name));
	if (r == 0)
		r = volume_load(boot, name, &v->vol);
	if (r < 0)
		snprintf(err, errlen,
			 "%s holds no usable mcfs volume (%s); run 'mcfs format' first",
			 meta_describe(boot), strerror(-r));
	if (r == 0) {
		volume_key(v->setting_key, sizeof(v->setting_key), v->vol.name, "setting");
		volume_key(v->key_prefix, sizeof(v->key_prefix), v->vol.name, "");
		v->key_prefix_len = strlen(v->key_prefix);
		r = find_region(v, boot, opt->region, err, errlen);
	}
	meta_close(boot);
	return r;
}

int vfs_open(const struct vfs_options *opt, struct vfs **out, char *err, size_t errlen)
{
	struct vfs *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&v->files_lock, NULL);
	struct id_range *ranges[] = {&v->slice_ids, &v->inode_ids, &v->order_ids};
	const char *fields[] = {"slice", "inode", "dirseq"};
	for (int i = 0; i < 3; i++) {
		co_mutex_init(&ranges[i]->lock);
		ranges[i]->field = fields[i];
	}
	pthread_mutex_init(&v->bg_lock, NULL);
	pthread_cond_init(&v->bg_cond, NULL);
	if (opt->cfg)
		v->cfg = *opt->cfg;
	else
		config_defaults(&v->cfg);
	int r = load_volume(v, opt, err, errlen);
	if (r == 0 && opt->cache_attributes && v->cfg.attr_cache_entries) {
		v->attrs = attr_cache_new(v->cfg.attr_cache_entries,
					  (unsigned)(v->cfg.attr_cache_age_s * 1000));
		if (!v->attrs) {
			snprintf(err, errlen, "out of memory");
			r = -ENOMEM;
		}
	}
	/* Listings are kept true by the same reports, which come with the
	 * attribute cache. */
	if (r == 0 && v->attrs && v->cfg.dir_cache_entries) {
		v->dirs = dir_cache_new(v->cfg.dir_cache_entries,
					(unsigned)(v->cfg.attr_cache_age_s * 1000));
		if (!v->dirs) {
			snprintf(err, errlen, "out of memory");
			r = -ENOMEM;
		}
	}
	if (r == 0)
		r = vfs_route_open(v, opt->meta_url, opt->meta_password, err, errlen);
	if (r < 0)
		goto fail;
	struct block_cache_config cc = {
	    .mem_bytes = v->cfg.cache_mem,
	    .disk_dir = v->cfg.cache_dir[0] ? v->cfg.cache_dir : NULL,
	    .disk_bytes = v->cfg.cache_size,
	};
	r = block_cache_open(&cc, &v->cache);
	/* Well inside the deletion delay: see chunk_cache.h. */
	long long chunk_age_ms = (long long)v->cfg.deletion_delay_s * 1000 / 4;
	if (r == 0)
		r = chunk_cache_create(4096, chunk_age_ms < 30000 ? chunk_age_ms : 30000,
				       &v->chunks);
	if (r < 0) {
		snprintf(err, errlen, "cannot open the block cache: %s", strerror(-r));
		goto fail;
	}
	r = workpool_create(v->cfg.upload_threads ? v->cfg.upload_threads : 16, &v->io_pool);
	if (r < 0) {
		snprintf(err, errlen, "cannot start I/O threads: %s", strerror(-r));
		goto fail;
	}
	meta_new_opid(v->session);
	r = register_session(v);
	if (r < 0) {
		snprintf(err, errlen, "cannot register with %s: %s", meta_describe(vfs_meta(v)),
			 strerror(-r));
		goto fail;
	}
	if (opt->background) {
		if (pthread_create(&v->bg_thread, NULL, background_main, v) != 0) {
			r = -EAGAIN;
			snprintf(err, errlen, "cannot start the background thread");
			goto fail;
		}
		v->bg_started = true;
	}
	*out = v;
	return 0;
fail:
	vfs_close(v);
	return r;
}

static void end_session(struct vfs *v)
{
	struct meta_args a;
	args_init(&a);
	args_str(&a, v->session);
	redisReply *rep = NULL;
	if (meta_eval(vfs_meta(v), "session_reap", v->setting_key, a.n, a.v, a.len, &rep) == 0)
		meta_reply_free(rep);
}

int vfs_close(struct vfs *v)
{
	if (!v)
		return 0;
	int r = 0;
	if (v->bg_started) {
		pthread_mutex_lock(&v->bg_lock);
		v->bg_stop = true;
		pthread_cond_signal(&v->bg_cond);
		pthread_mutex_unlock(&v->bg_lock);
		pthread_join(v->bg_thread, NULL);
	}
	if (v->route && v->store)
		r = vfs_flush_all(v);
	for (size_t i = 0; i < VFS_FILE_BUCKETS; i++) {
		while (v->files[i]) {
			struct vfs_file *f = v->files[i];
			v->files[i] = f->next;
			writer_free(f->writer);
			co_rwlock_destroy(&f->lock);
			free(f);
		}
	}
	if (v->route && v->session[0])
		end_session(v);
	workpool_destroy(v->io_pool);
	block_cache_close(v->cache);
	chunk_cache_destroy(v->chunks);
	vfs_route_close(v);
	attr_cache_free(v->attrs); /* after the route: its listeners report into it */
	dir_cache_free(v->dirs);
	pthread_cond_destroy(&v->bg_cond);
	pthread_mutex_destroy(&v->bg_lock);
	co_mutex_destroy(&v->slice_ids.lock);
	co_mutex_destroy(&v->inode_ids.lock);
	co_mutex_destroy(&v->order_ids.lock);
	pthread_mutex_destroy(&v->files_lock);
	free(v);
	return r;
}

void vfs_volume_info(const struct vfs *v, struct vfs_volume_info *out)
{
	snprintf(out->name, sizeof(out->name), "%s", v->vol.name);
	snprintf(out->uuid, sizeof(out->uuid), "%s", v->vol.uuid);
	out->block_size = v->vol.block_size;
	out->chunk_size = v->vol.chunk_size;
}

/* ---- per-file state */

static size_t file_bucket(mcfs_ino_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 54) % VFS_FILE_BUCKETS;
}

static struct vfs_file *lookup_locked(struct vfs *v, mcfs_ino_t ino)
{
	for (struct vfs_file *f = v->files[file_bucket(ino)]; f; f = f->next)
		if (f->ino == ino)
			return f;
	return NULL;
}

struct vfs_file *vfs_file_find(struct vfs *v, mcfs_ino_t ino)
{
	pthread_mutex_lock(&v->files_lock);
	struct vfs_file *f = lookup_locked(v, ino);
	if (f)
		f->users++;
	pthread_mutex_unlock(&v->files_lock);
	return f;
}

struct vfs_file *vfs_file_get(struct vfs *v, mcfs_ino_t ino)
{
	pthread_mutex_lock(&v->files_lock);
	struct vfs_file *f = lookup_locked(v, ino);
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (f) {
			f->ino = ino;
			co_rwlock_init(&f->lock);
			size_t b = file_bucket(ino);
			f->next = v->files[b];
			v->files[b] = f;
		}
	}
	if (f)
		f->users++;
	pthread_mutex_unlock(&v->files_lock);
	return f;
}

/* State is dropped once nobody uses it and no write is buffered. */
void vfs_file_put(struct vfs *v, struct vfs_file *f)
{
	pthread_mutex_lock(&v->files_lock);
	if (--f->users == 0 && !f->writer && f->opens == 0) {
		struct vfs_file **pp = &v->files[file_bucket(f->ino)];
		while (*pp != f)
			pp = &(*pp)->next;
		*pp = f->next;
		co_rwlock_destroy(&f->lock);
		free(f);
	}
	pthread_mutex_unlock(&v->files_lock);
}

size_t vfs_ino_key(const struct vfs *v, char *out, const char *kind, uint64_t ino)
{
	size_t n = v->key_prefix_len, k = strlen(kind);
	memcpy(out, v->key_prefix, n);
	memcpy(out + n, kind, k);
	return n + k + resp_u64(out + n + k, ino);
}

int vfs_take_id(struct vfs *v, struct id_range *r, uint64_t *id)
{
	co_mutex_lock(&r->lock);
	if (r->next >= r->end) {
		char key[128];
		redisReply *rep = NULL;
		int rc = meta_cmdf(vfs_meta(v), &rep, "HINCRBY %s %s %d",
				   volume_key(key, sizeof(key), v->vol.name, "counter"), r->field,
				   ID_BATCH);
		if (rc < 0 || rep->type != REDIS_REPLY_INTEGER) {
			if (rep)
				meta_reply_free(rep);
			co_mutex_unlock(&r->lock);
			return rc < 0 ? rc : -EIO;
		}
		r->end = (uint64_t)rep->integer + 1;
		r->next = r->end - ID_BATCH;
		meta_reply_free(rep);
	}
	*id = r->next++;
	co_mutex_unlock(&r->lock);
	return 0;
}

int vfs_next_slice_id(struct vfs *v, uint64_t *id)
{
	return vfs_take_id(v, &v->slice_ids, id);
}

void vfs_queue_compaction(struct vfs *v, mcfs_ino_t ino, uint32_t chunk)
{
	pthread_mutex_lock(&v->bg_lock);
	unsigned cap = sizeof(v->compact_queue) / sizeof(v->compact_queue[0]);
	for (unsigned i = v->compact_head; i != v->compact_tail; i = (i + 1) % cap)
		if (v->compact_queue[i].ino == ino && v->compact_queue[i].chunk == chunk)
			goto out;
	if ((v->compact_tail + 1) % cap != v->compact_head) {
		v->compact_queue[v->compact_tail].ino = ino;
		v->compact_queue[v->compact_tail].chunk = chunk;
		v->compact_tail = (v->compact_tail + 1) % cap;
		pthread_cond_signal(&v->bg_cond);
	}
out:
	pthread_mutex_unlock(&v->bg_lock);
}

/* ---- background upkeep: compaction, deferred deletion, session liveness */

static bool pop_compaction(struct vfs *v, mcfs_ino_t *ino, uint32_t *chunk)
{
	unsigned cap = sizeof(v->compact_queue) / sizeof(v->compact_queue[0]);
	if (v->compact_head == v->compact_tail)
		return false;
	*ino = v->compact_queue[v->compact_head].ino;
	*chunk = v->compact_queue[v->compact_head].chunk;
	v->compact_head = (v->compact_head + 1) % cap;
	return true;
}

static void *background_main(void *arg)
{
	thread_name("mcfs-volume");
	struct vfs *v = arg;
	time_t last_beat = 0, last_deletions = 0, last_reap = 0, last_watermark = 0;
	pthread_mutex_lock(&v->bg_lock);
	while (!v->bg_stop) {
		mcfs_ino_t ino;
		uint32_t chunk;
		if (pop_compaction(v, &ino, &chunk)) {
			pthread_mutex_unlock(&v->bg_lock);
			maintenance_compact_chunk(v, ino, chunk);
			pthread_mutex_lock(&v->bg_lock);
			continue;
		}
		time_t now = time(NULL);
		pthread_mutex_unlock(&v->bg_lock);
		if (now - last_beat >= HEARTBEAT_SECONDS) {
			register_session(v);
			last_beat = now;
		}
		/* A meta-only region's blocks are the source's to delete. */
		if (now - last_deletions >= 10 && v->region.bucket[0]) {
			uint64_t n = 0;
			vfs_apply_deletions(v, v->cfg.deletion_delay_s, &n);
			last_deletions = now;
		}
		if (now - last_watermark >= 2) {
			vfs_refresh_low_watermark(v);
			last_watermark = now;
		}
		if (now - last_reap >= 60) {
			maintenance_reap_sessions(v, 6 * HEARTBEAT_SECONDS);
			last_reap = now;
		}
		pthread_mutex_lock(&v->bg_lock);
		if (v->bg_stop)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&v->bg_cond, &v->bg_lock, &until);
	}
	pthread_mutex_unlock(&v->bg_lock);
	return NULL;
}

int vfs_compact_file(struct vfs *v, mcfs_ino_t ino)
{
	struct mcfs_attr a;
	int r = vfs_getattr_committed(v, ino, &a);
	if (r < 0)
		return r;
	if (a.type != MCFS_FILE)
		return -EINVAL;
	int done = 0;
	for (uint64_t c = 0; c * MCFS_CHUNK_SIZE < a.size; c++) {
		r = maintenance_compact_chunk(v, ino, (uint32_t)c);
		if (r < 0)
			return r;
		done += r;
	}
	return done;
}

int vfs_apply_deletions(struct vfs *v, uint64_t delay_seconds, uint64_t *deleted)
{
	return maintenance_apply_deletions(v, delay_seconds, deleted);
}
