#include "fd_io.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

/* One loop for both: at the file position when at_pos, else at off. */
static int write_loop(int fd, const void *buf, size_t len, bool at_pos, uint64_t off)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = at_pos ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	return write_loop(fd, buf, len, true, 0);
}

int fd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return write_loop(fd, buf, len, false, off);
}

ssize_t fd_pread_upto(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}
