/* Whole reads and writes on file descriptors: the loops around short
 * transfers and EINTR that every module writing or reading files needs. */
#ifndef MCFS_FD_IO_H
#define MCFS_FD_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all of buf at the file position: 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);
/* Writes all of buf at off: 0 or -errno (-EIO if the file takes nothing). */
int fd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Reads len bytes at off, stopping early only at the end of the file: how
 * many were read, or -errno. Callers decide what a short file means. */
ssize_t fd_pread_upto(int fd, void *buf, size_t len, uint64_t off);

#endif
