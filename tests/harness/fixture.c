#include "fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "objstore.h"
#include "volume.h"

const struct mcfs_cred ROOT_CRED = {.uid = 0, .gid = 0};
const struct mcfs_cred USER_CRED = {.uid = 1000, .gid = 1000, .ngroups = 1, .groups = {100}};

void pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, off + i);
}

long pattern_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern_byte(seed, off + i))
			return (long)i;
	return -1;
}

int pattern_check_files(struct vfs *v, const mcfs_ino_t *inos, int n, size_t len)
{
	uint8_t *buf = malloc(len);
	if (!buf)
		return n;
	int bad = 0;
	for (int i = 0; i < n; i++) {
		size_t got = 0;
		bool eof;
		int r = vfs_read(v, inos[i], 0, len, buf, &got, &eof);
		if (r != 0 || got != len || pattern_check(inos[i], 0, buf, got) >= 0) {
			fprintf(stderr, "  inode %llu: %s, %zu of %zu bytes\n",
				(unsigned long long)inos[i], strerror(-r), got, len);
			bad++;
		}
	}
	free(buf);
	return bad;
}

int fixture_start(struct fixture *fx, bool use_s3, uint32_t block_size)
{
	memset(fx, 0, sizeof(*fx));
	fx->use_s3 = use_s3;
	int r = redis_server_start(&fx->redis);
	if (r < 0) {
		fprintf(stderr, "fixture: cannot start redis-server: %s\n", strerror(-r));
		return r;
	}
	config_defaults(&fx->cfg);
	fx->cfg.deletion_delay_s = 3600;
	fx->cfg.cache_mem = 64 << 20;
	if (use_s3) {
		r = s3_server_start(&fx->s3, "mcfs-test");
		if (r < 0) {
			fprintf(stderr, "fixture: cannot start s3rver: %s\n", strerror(-r));
			return r;
		}
		snprintf(fx->bucket_url, sizeof(fx->bucket_url), "%s", fx->s3.url);
		snprintf(fx->cfg.s3_access_key, sizeof(fx->cfg.s3_access_key), S3RVER_ACCESS_KEY);
		snprintf(fx->cfg.s3_secret_key, sizeof(fx->cfg.s3_secret_key), S3RVER_SECRET_KEY);
	} else {
		fx->bucket_dir = test_tmpdir("bucket");
		if (!fx->bucket_dir)
			return -errno;
		snprintf(fx->bucket_url, sizeof(fx->bucket_url), "file://%s", fx->bucket_dir);
	}
	char err[512];
	struct meta *m = NULL;
	struct meta_options mo = {.url = fx->redis.url};
	r = meta_connect(&mo, &m, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "fixture: %s\n", err);
		return r;
	}
	struct objstore_credentials cred = {.access_key = fx->cfg.s3_access_key,
					    .secret_key = fx->cfg.s3_secret_key};
	struct objstore *os = NULL;
	r = objstore_open(fx->bucket_url, &cred, &os);
	struct format_options fo = {.name = "test",
				    .bucket_url = fx->bucket_url,
				    .region = "home",
				    .block_size = block_size};
	struct volume_settings vs;
	if (r == 0)
		r = volume_format(m, os, &fo, &vs, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "fixture: format: %s\n", err);
	objstore_close(os);
	meta_close(m);
	if (r < 0)
		return r;
	return fixture_open_vfs(fx, &fx->vfs);
}

int fixture_open_vfs(struct fixture *fx, struct vfs **out)
{
	char err[512];
	struct vfs_options o = {.meta_url = fx->redis.url, .cfg = &fx->cfg};
	int r = vfs_open(&o, out, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "fixture: vfs_open: %s\n", err);
	return r;
}

void fixture_stop(struct fixture *fx)
{
	if (fx->vfs)
		vfs_close(fx->vfs);
	fx->vfs = NULL;
	if (fx->use_s3)
		s3_server_stop(&fx->s3);
	redis_server_stop(&fx->redis);
	if (fx->bucket_dir) {
		rm_rf(fx->bucket_dir);
		free(fx->bucket_dir);
		fx->bucket_dir = NULL;
	}
}
