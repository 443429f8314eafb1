/*
 * Buffered writes of one file. Writes gather into pending slices per chunk;
 * each full block is uploaded in the background as soon as it fills, and
 * the slice is committed to metadata (one script) on flush. A pending slice
 * that is later in the list shadows earlier ones, as in metadata, so
 * committing in list order keeps overwrite semantics.
 *
 * The caller serialises calls per file (the vfs_file lock); uploads finish
 * on pool threads and synchronise internally.
 */
#ifndef MCFS_WRITER_H
#define MCFS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"

struct vfs;
struct writer;

struct writer *writer_new(struct vfs *v, mcfs_ino_t ino);
/* Frees the writer; buffered data not flushed is dropped (caller flushes first). */
void writer_free(struct writer *w);

int writer_write(struct writer *w, uint64_t off, const void *buf, size_t len);
/* Uploads what is left, waits, and commits every pending slice in order.
 * uid: the writer's uid (a non-root write clears suid/sgid). *attr gets the
 * attributes after the last commit when attr is not NULL and anything was committed. */
int writer_flush(struct writer *w, uint32_t uid, struct mcfs_attr *attr);
/* Copies buffered bytes over [off, off+len) of buf (buf holds committed data). */
int writer_overlay(struct writer *w, uint64_t off, size_t len, uint8_t *buf);
/* End of the furthest buffered byte (0 if none) and number of buffered writes. */
uint64_t writer_end(const struct writer *w);
unsigned writer_pending_writes(const struct writer *w);
int writer_empty(const struct writer *w);

#endif
