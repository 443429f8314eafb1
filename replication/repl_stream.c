/* The change log through a consumer group; see repl_stream.h. */
#include "repl_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta_ops.h"

void repl_stream_init(struct repl_stream *s, struct meta *m, const char *volume, const char *group,
		      const char *consumer)
{
	s->m = m;
	volume_key(s->key, sizeof(s->key), volume, "changes");
	snprintf(s->group, sizeof(s->group), "%s", group);
	snprintf(s->consumer, sizeof(s->consumer), "%s", consumer);
}

/* In a script so that an existing group (BUSYGROUP, the usual case) is not
 * an error reply the metadata layer would log. */
int repl_stream_create_group(struct repl_stream *s)
{
	redisReply *r = NULL;
	int rc = meta_cmdf(s->m, &r, "EVAL %s 1 %s %s",
			   "local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', "
			   "'MKSTREAM') "
			   "if type(r) == 'table' and r.err then "
			   "if string.find(r.err, 'BUSYGROUP') then return 0 end "
			   "return redis.error_reply(r.err) end return 1",
			   s->key, s->group);
	if (rc == 0)
		meta_reply_free(r);
	return rc;
}

long long repl_id_ms(const char *id)
{
	return strtoll(id, NULL, 10);
}

int repl_id_cmp(const char *a, const char *b)
{
	char *ea, *eb;
	unsigned long long ma = strtoull(a, &ea, 10), mb = strtoull(b, &eb, 10);
	if (ma != mb)
		return ma < mb ? -1 : 1;
	unsigned long long sa = *ea == '-' ? strtoull(ea + 1, NULL, 10) : 0;
	unsigned long long sb = *eb == '-' ? strtoull(eb + 1, NULL, 10) : 0;
	return sa < sb ? -1 : sa > sb;
}

static const char *field(const redisReply *f, const char *name)
{
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, name) == 0)
			return f->element[i + 1]->str;
	return NULL;
}

bool repl_entry_parse(const redisReply *e, struct repl_entry *out)
{
	memset(out, 0, sizeof(*out));
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return false;
	snprintf(out->sid, sizeof(out->sid), "%s", e->element[0]->str);
	const redisReply *f = e->elements > 1 ? e->element[1] : NULL;
	if (!f || f->type != REDIS_REPLY_ARRAY)
		return true; /* trimmed from the stream while pending */
	const char *id = field(f, "id"), *size = field(f, "size"), *origin = field(f, "origin");
	if (!id || !size)
		return true;
	out->slice = strtoull(id, NULL, 10);
	unsigned long long sz = strtoull(size, NULL, 10);
	out->size = (uint32_t)sz;
	out->origin = origin ? (uint16_t)strtoul(origin, NULL, 10) : UINT16_MAX;
	out->valid = out->slice > 0 && sz > 0 && sz <= UINT32_MAX;
	return true;
}

static void parse_entries(const redisReply *list, bool redelivered, struct repl_entry *out,
			  size_t max, size_t *n)
{
	if (!list || list->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < list->elements && *n < max; i++)
		if (repl_entry_parse(list->element[i], &out[*n]))
			out[(*n)++].redelivered = redelivered;
}

int repl_stream_read(struct repl_stream *s, const char *from, size_t max, int block_ms,
		     struct repl_entry *out, size_t *n)
{
	*n = 0;
	char count[24], block[24];
	snprintf(count, sizeof(count), "%zu", max);
	snprintf(block, sizeof(block), "%d", block_ms);
	const char *argv[12] = {"XREADGROUP", "GROUP", s->group, s->consumer, "COUNT", count};
	int argc = 6;
	if (block_ms > 0) {
		argv[argc++] = "BLOCK";
		argv[argc++] = block;
	}
	argv[argc++] = "STREAMS";
	argv[argc++] = s->key;
	argv[argc++] = from;
	redisReply *r = NULL;
	int rc = meta_cmd(s->m, &r, argc, argv, NULL);
	if (rc < 0)
		return rc;
	/* [[key, [entries]]], or nil when nothing came */
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements > 1)
		parse_entries(r->element[0]->element[1], strcmp(from, ">") != 0, out, max, n);
	meta_reply_free(r);
	return 0;
}

int repl_stream_claim(struct repl_stream *s, uint64_t min_idle_ms, char cursor[REPL_ID_LEN],
		      size_t max, struct repl_entry *out, size_t *n)
{
	*n = 0;
	redisReply *r = NULL;
	/* (hiredis formats know no %zu) */
	int rc = meta_cmdf(s->m, &r, "XAUTOCLAIM %s %s %s %llu %s COUNT %llu", s->key, s->group,
			   s->consumer, (unsigned long long)min_idle_ms, cursor,
			   (unsigned long long)max);
	if (rc < 0)
		return rc;
	/* [next cursor, [entries], [ids deleted from the stream]] */
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
		if (r->element[0]->type == REDIS_REPLY_STRING)
			snprintf(cursor, REPL_ID_LEN, "%s", r->element[0]->str);
		parse_entries(r->element[1], true, out, max, n);
	}
	meta_reply_free(r);
	return 0;
}

/* A command whose arguments are a fixed head, then ids, then a fixed tail. */
static int ids_cmd(struct repl_stream *s, const char *const *head, int nhead,
		   const char *const *ids, size_t n, const char *tail)
{
	if (n == 0)
		return 0;
	const char **argv = malloc((n + (size_t)nhead + 1) * sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	int argc = 0;
	for (int i = 0; i < nhead; i++)
		argv[argc++] = head[i];
	for (size_t i = 0; i < n; i++)
		argv[argc++] = ids[i];
	if (tail)
		argv[argc++] = tail;
	redisReply *r = NULL;
	int rc = meta_cmd(s->m, &r, argc, argv, NULL);
	free(argv);
	if (rc == 0)
		meta_reply_free(r);
	return rc;
}

int repl_stream_touch(struct repl_stream *s, const char *const *ids, size_t n)
{
	const char *head[] = {"XCLAIM", s->key, s->group, s->consumer, "0"};
	return ids_cmd(s, head, 5, ids, n, "JUSTID");
}

int repl_stream_ack(struct repl_stream *s, const char *const *ids, size_t n)
{
	const char *head[] = {"XACK", s->key, s->group};
	return ids_cmd(s, head, 3, ids, n, NULL);
}

/* Checking "no pending entries" and deleting in one step: deleting a
 * consumer drops its pending entries, which would lose them. */
static const char reap_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
    "local cs = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1]) "
    "if cs.err then return 0 end "
    "local n = 0 "
    "for _, c in ipairs(cs) do "
    "local f = {} for i = 1, #c, 2 do f[c[i]] = c[i + 1] end "
    "if f['pending'] == 0 and (f['name'] == ARGV[2] or f['idle'] > tonumber(ARGV[3])) then "
    "redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name']) n = n + 1 end "
    "end return n";

int repl_stream_reap_consumers(struct repl_stream *s, bool self, uint64_t max_idle_ms)
{
	redisReply *r = NULL;
	int rc = meta_cmdf(s->m, &r, "EVAL %s 1 %s %s %s %llu", reap_script, s->key, s->group,
			   self ? s->consumer : "", (unsigned long long)max_idle_ms);
	if (rc < 0)
		return rc;
	int n = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : 0;
	meta_reply_free(r);
	return n;
}
