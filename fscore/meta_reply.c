#include "meta_reply.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first block holds the root; larger replies chain more blocks. */
#define FIRST_BLOCK 1024

struct block {
	struct block *next;
	size_t used, cap;
	_Alignas(max_align_t) char data[];
};

/* The root reply, with the blocks it lives in just before it. */
struct root {
	struct block *blocks;
	redisReply reply;
};

static void *block_alloc(struct root *rt, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	struct block *b = rt->blocks;
	if (b->used + size > b->cap) {
		size_t cap = b->cap * 2 > size ? b->cap * 2 : size;
		struct block *nb = malloc(sizeof(*nb) + cap);
		if (!nb)
			return NULL;
		nb->next = b;
		nb->used = 0;
		nb->cap = cap;
		rt->blocks = b = nb;
	}
	void *p = b->data + b->used;
	b->used += size;
	return p;
}

static struct root *root_of(const redisReadTask *task)
{
	while (task->parent)
		task = task->parent;
	return (struct root *)((char *)task->obj - offsetof(struct root, reply));
}

/* A new reply object of task, with room for extra bytes after it. */
static redisReply *create(const redisReadTask *task, int type, size_t extra, void **extra_at)
{
	redisReply *r;
	if (!task->parent) {
		size_t cap = FIRST_BLOCK > sizeof(struct root) + extra
				 ? FIRST_BLOCK
				 : sizeof(struct root) + extra;
		struct block *b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = NULL;
		b->cap = cap;
		b->used = (sizeof(struct root) + 15) & ~(size_t)15;
		struct root *rt = (struct root *)b->data;
		rt->blocks = b;
		r = &rt->reply;
		*extra_at = extra ? block_alloc(rt, extra) : NULL;
		if (extra && !*extra_at) {
			free(b);
			return NULL;
		}
	} else {
		struct root *rt = root_of(task);
		r = block_alloc(rt, sizeof(*r));
		*extra_at = r && extra ? block_alloc(rt, extra) : NULL;
		if (!r || (extra && !*extra_at))
			return NULL;
		redisReply *parent = task->parent->obj;
		parent->element[task->idx] = r;
	}
	memset(r, 0, sizeof(*r));
	r->type = type;
	return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
	void *at;
	redisReply *r = create(task, task->type, len + 1, &at);
	if (!r)
		return NULL;
	r->str = at;
	memcpy(r->str, str, len);
	r->str[len] = '\0';
	r->len = len;
	return r;
}

static void *create_array(const redisReadTask *task, int elements)
{
	void *at;
	size_t n = elements > 0 ? (size_t)elements : 0;
	redisReply *r = create(task, REDIS_REPLY_ARRAY, n * sizeof(redisReply *), &at);
	if (!r)
		return NULL;
	r->elements = n;
	r->element = at;
	if (n)
		memset(r->element, 0, n * sizeof(redisReply *));
	return r;
}

static void *create_integer(const redisReadTask *task, long long value)
{
	void *at;
	redisReply *r = create(task, REDIS_REPLY_INTEGER, 0, &at);
	if (r)
		r->integer = value;
	return r;
}

static void *create_nil(const redisReadTask *task)
{
	void *at;
	return create(task, REDIS_REPLY_NIL, 0, &at);
}

void meta_reply_free(redisReply *r)
{
	if (!r)
		return;
	struct root *rt = (struct root *)((char *)r - offsetof(struct root, reply));
	struct block *b = rt->blocks;
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

/* The reader frees only roots (a partial reply after a protocol error). */
static void free_object(void *obj)
{
	meta_reply_free(obj);
}

redisReplyObjectFunctions meta_reply_functions = {
    .createString = create_string,
    .createArray = create_array,
    .createInteger = create_integer,
    .createNil = create_nil,
    .freeObject = free_object,
};
