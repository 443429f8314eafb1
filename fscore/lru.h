/*
 * Least-recently-used order for the caches (attributes, listings, open
 * objects, duplicate requests): an intrusive doubly linked list. A cached
 * object embeds a struct lru_node; LRU_ENTRY turns a node back into it.
 * No locking: each cache holds its own lock around these.
 */
#ifndef MCFS_LRU_H
#define MCFS_LRU_H

#include <stddef.h>

struct lru_node {
	struct lru_node *newer, *older;
};

struct lru_list {
	struct lru_node *newest, *oldest;
};

#define LRU_ENTRY(node, type, member) ((type *)(void *)((char *)(node)-offsetof(type, member)))

static inline void lru_remove(struct lru_list *l, struct lru_node *n)
{
	if (n->newer)
		n->newer->older = n->older;
	else
		l->newest = n->older;
	if (n->older)
		n->older->newer = n->newer;
	else
		l->oldest = n->newer;
	n->newer = n->older = NULL;
}

static inline void lru_add_newest(struct lru_list *l, struct lru_node *n)
{
	n->older = l->newest;
	n->newer = NULL;
	if (l->newest)
		l->newest->newer = n;
	l->newest = n;
	if (!l->oldest)
		l->oldest = n;
}

/* A hit: n becomes the newest. */
static inline void lru_touch(struct lru_list *l, struct lru_node *n)
{
	lru_remove(l, n);
	lru_add_newest(l, n);
}

#endif
