/*
 * Settings shared by every program, read from an INI file (mcfs.conf(5)) with
 * inih and overridden by command-line flags. Secrets (S3 keys, Redis
 * password) may live here, so a file holding one must not be readable by
 * group or others: config_load() refuses it.
 */
#ifndef MCFS_CONFIG_H
#define MCFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objstore.h"

#define CONFIG_MAX_EXPORTS 32

struct mcfs_config {
	/* [meta] */
	char meta_url[512];	 /* url = redis://HOST:PORT[/DB] */
	char meta_password[256]; /* password = (secret) */
	char replica_url[512];	 /* replica = redis://... (mirror regions) */
	uint64_t meta_timeout_s; /* timeout = 5s: a command without a reply for this long fails and
				    is retried */
	uint64_t max_replica_lag_s; /* max_replica_lag = 10s: a replica further behind is not read
				       (0: no bound) */
	/* [region] */
	char region[64]; /* name = */
	/* [s3] */
	char s3_access_key[256];
	char s3_secret_key[256]; /* secret */
	char s3_region[64];	 /* signing_region = ; default us-east-1 */
	char s3_ca_file[1024];	 /* ca_file = PEM certificates for https:// endpoints */
	bool s3_sign_payload;	 /* sign_payload = no: bodies over https go unsigned */
	/* [cache] */
	char cache_dir[1024];	   /* dir = */
	uint64_t cache_size;	   /* size = (disk bound) */
	uint64_t cache_mem;	   /* memory = */
	unsigned readahead_blocks; /* readahead = number of blocks */
	unsigned
	    attr_cache_entries; /* attributes = 131072: inodes whose attributes a gateway keeps */
	uint64_t
	    attr_cache_age_s; /* attribute_age = 60s: the longest one serves, reported or not */
	unsigned dir_cache_entries; /* directories = 262144: listing entries a gateway keeps */
	/* [data] */
	uint64_t deletion_delay_s; /* deletion_delay = 1h */
	unsigned upload_threads;   /* upload_threads = 16 */
	uint64_t write_buffer;	   /* write_buffer = bytes buffered per gateway before flushing */
	unsigned compact_slices;   /* compact_slices = slices in a chunk that trigger compaction */
	/* [replication] (mcfs-replicator) */
	unsigned repl_transfers; /* transfers = 16: copies in flight */
	uint64_t repl_bandwidth; /* bandwidth = 0: bytes per second, 0 = unlimited */
	uint64_t
	    repl_claim_idle_s; /* claim_after = 60s: a silent worker's entries are taken over */
	/* [log] */
	char log_level[16]; /* level = error|warn|info|debug */
	bool log_syslog;    /* syslog = yes|no */
	/* [gateway] */
	char listen[128]; /* listen = ADDR:PORT */
	char pid_file[1024];
	unsigned threads;	   /* threads = 0: event loops, one per core */
	unsigned blocking_threads; /* blocking_threads = 32: bucket calls that may block */
	char exports[CONFIG_MAX_EXPORTS][512]; /* export = PATH[:OPTIONS], repeatable */
	unsigned nexports;
	/* [nfs4] */
	uint64_t nfs4_lease_s;	/* lease_time = 90s */
	uint64_t nfs4_grace_s;	/* grace_time = (0: the lease time) */
	char nfs4_domain[128];	/* domain = localdomain (owner@domain) */
	bool nfs4_idmap_names;	/* idmap_names = no: numeric owners, as Linux nfsd with AUTH_SYS */
	char nfs4_recovery[64]; /* recovery_id = (default: from listen) */
};

/* Fills in the documented defaults. */
void config_defaults(struct mcfs_config *cfg);
/* Reads FILE over cfg. Returns 0, -ENOENT, -EACCES (secrets in a group/world
 * readable file), or -EINVAL (syntax, unknown key, bad value); errbuf says
 * which line and why. */
int config_load(const char *path, struct mcfs_config *cfg, char *errbuf, size_t errlen);
/* Takes AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / MCFS_META_PASSWORD from the
 * environment where the file left them empty. */
void config_apply_env(struct mcfs_config *cfg);
/* The [s3] settings as objstore_open() takes them; they point into cfg. */
struct objstore_credentials config_s3_credentials(const struct mcfs_config *cfg);

#endif
