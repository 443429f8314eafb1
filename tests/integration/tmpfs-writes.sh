#!/bin/sh
# The vfs and pipeline tests again with their buckets on tmpfs, where a
# stream's blocks are written in place into unnamed files of the bucket and
# published by a link (writer.c): every check of those tests (data byte for
# byte, out-of-order writes and their gaps, reads of data not yet flushed,
# crashes mid-write) then runs on that path. Skipped without a tmpfs.
set -eu
b="${MCFS_TOP_BUILDDIR:-.}"
shm=/dev/shm
if [ ! -d "$shm" ] || [ ! -w "$shm" ] || [ "$(stat -f -c %T "$shm")" != tmpfs ]; then
	echo "tmpfs-writes: no writable tmpfs at $shm: skipped"
	exit 77
fi
for t in itest_vfs itest_pipeline; do
	[ -x "$b/tests/integration/$t" ] || continue # not built in this configuration
	echo "== $t with TMPDIR=$shm"
	TMPDIR="$shm" "$b/tests/integration/$t"
done
