/*
 * Replies from the metadata server, as hiredis's redisReply (same fields),
 * but each built in one growing block of memory instead of two allocations
 * per element: a page of a directory listing is a thousand elements, and
 * hiredis's reply objects and their frees cost a quarter of a listing.
 *
 * Every reply that meta.h hands out is of this kind: free it with
 * meta_reply_free(), never with freeReplyObject().
 */
#ifndef MCFS_META_REPLY_H
#define MCFS_META_REPLY_H

#include <hiredis/hiredis.h>

/* For a reader: redisReaderCreateWithFunctions(), or a context's reader->fn. */
extern redisReplyObjectFunctions meta_reply_functions;

/* Frees a whole reply (NULL is fine). */
void meta_reply_free(redisReply *r);

#endif
