/*
 * The regions of a volume (DESIGN.md §3): adding one, listing them, and
 * promoting a mirror region to source after the source is lost (`mcfs region`).
 *
 * A region is a record in the hash "{VOL}:regions":
 *   NAME -> "index=N;mode=M;bucket=URL[;replica=URL]"
 * The index goes into every slice record as its origin, so it is allocated
 * once, from the volume's counter, and never reused. The replica URL is the
 * region's metadata endpoint; it never carries a password (secrets stay in
 * the local config file or the environment).
 */
#ifndef MCFS_REGION_H
#define MCFS_REGION_H

#include <stdbool.h>
#include <stddef.h>

#include "meta.h"
#include "objstore.h"
#include "volume.h"

enum region_mode { REGION_SOURCE, REGION_SHARED, REGION_MIRROR, REGION_META_ONLY };

/* "source", "shared", "mirror", "meta-only" -> 0, else -EINVAL. */
int region_mode_parse(const char *s, enum region_mode *out);
const char *region_mode_name(enum region_mode m);
/* 1-63 of a-z, 0-9 and '-', not starting with '-'; 0 or -EINVAL. */
int region_check_name(const char *name);
/* A replica URL fit for metadata: a redis URL without a password and
 * without ';' (the record separator). 0 or -EINVAL with a message. */
int region_check_replica_url(const char *url, char *err, size_t errlen);

struct region_add_options {
	const char *name;
	enum region_mode mode;
	const char *bucket_url;	 /* NULL or "" for meta-only */
	const char *replica_url; /* required for mirror and meta-only */
};
/* Everything that can be checked without a server; -EINVAL with a message. */
int region_validate(const struct region_add_options *o, char *err, size_t errlen);

/* Adds a region to `volume` in one script that also allocates its index and
 * refuses a taken name (-EEXIST) or a full volume (-ENOSPC). When store is
 * not NULL the bucket is probed first (write, read back, delete). -EROFS
 * when m is a replica. out (may be NULL) gets the new record. */
int region_add(struct meta *m, const char *volume, struct objstore *store,
	       const struct region_add_options *o, struct region_info *out, char *err,
	       size_t errlen);

/* The regions of `volume`, by index. */
int region_list(struct meta *m, const char *volume, struct region_info *out, size_t max, size_t *n);
/* The region called name among n; NULL if none. */
const struct region_info *region_find(const struct region_info *r, size_t n, const char *name);

/* What a Redis server says it is (ROLE and INFO replication). */
struct region_role {
	bool replica;
	char primary_host[256]; /* replicas: the primary they follow */
	int primary_port;
	bool link_up;	       /* replicas: the link to the primary is up */
	long long link_down_s; /* replicas: seconds since the link went down, -1 unknown */
	long long offset;      /* replication offset applied */
};
int region_server_role(struct meta *m, struct region_role *out);

/* Whether region name (among n) may become the source of a volume whose
 * source is `source`: 0, -EALREADY, -ENOENT, or -EINVAL (not a mirror); err
 * says why. */
int region_promotable(const char *volume, const char *source, const struct region_info *r, size_t n,
		      const char *name, char *err, size_t errlen);

struct promote_options {
	const char *name;		/* the mirror region to promote */
	const char *old_source_replica; /* NULL: the old source keeps its replica URL */
	bool force;			/* even while the server still follows a live primary */
};
struct promote_result {
	char old_source[64];
	long long promotions; /* the volume's promotion count after this one */
	bool detached;	      /* the server was a replica and is now a primary */
};
/* Makes mirror region o->name the source of `volume`, on the server m which
 * must be that region's metadata replica: detaches it from its primary
 * (REPLICAOF NO ONE) if it follows one, then in one script sets the
 * volume's source, marks the region source and the old source mirror, and
 * counts the promotion. Refuses, before changing anything: -EALREADY (the
 * region is the source already), -EINVAL (not a mirror region), -EBUSY (the
 * server's link to its primary is up, so the source is not lost; unless
 * o->force). err says why. */
int region_promote(struct meta *m, const char *volume, const struct promote_options *o,
		   struct promote_result *out, char *err, size_t errlen);

/* Makes the Redis server at replica_url follow host:port (REPLICAOF), with
 * password (may be NULL) for its AUTH. Fails fast: one attempt, short timeout. */
int region_repoint(const char *replica_url, const char *password, const char *host, int port,
		   char *err, size_t errlen);

#endif
