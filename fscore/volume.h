/* A volume's identity and settings, kept in metadata so every gateway of
 * every region agrees on them; creating one (`mcfs format`). */
#ifndef MCFS_VOLUME_H
#define MCFS_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "objstore.h"

/* The one key outside the volume's hash tag: which volume this database holds. */
#define VOLUME_POINTER_KEY "mcfs:volume"
#define MCFS_MAX_REGIONS   16

struct volume_settings {
	char name[64];
	char uuid[37];
	uint32_t block_size;
	uint32_t chunk_size;
	char source_region[64];
	int format_version;
	int64_t created;
};

struct region_info {
	char name[64];
	uint16_t index;
	char mode[16];
	char bucket[512];  /* empty for a meta-only region: it uses the source's bucket */
	char replica[512]; /* its metadata endpoint (a Redis replica); may be empty */
};

/* Name of the volume in this database; -ENOENT if none was formatted. */
int volume_find(struct meta *m, char *name, size_t len);
int volume_load(struct meta *m, const char *name, struct volume_settings *out);
int volume_regions(struct meta *m, const char *name, struct region_info *out, size_t max,
		   size_t *n);

struct format_options {
	const char *name;
	const char *bucket_url;
	const char *region; /* default "default" */
	uint32_t block_size;
	bool force;
};
/* Checks the bucket (writes, reads back and removes a probe object), then
 * creates the volume's metadata in one script. Refuses an existing volume
 * (-EEXIST) unless force, which first removes the old volume's metadata. */
int volume_format(struct meta *m, struct objstore *store, const struct format_options *o,
		  struct volume_settings *out, char *err, size_t errlen);
/* Writes, reads back and removes a probe object under "VOLUME/" (creating the
 * bucket if missing); err says why a bucket is not usable. */
int volume_probe_bucket(struct objstore *store, const char *volume, char *err, size_t errlen);

#endif
