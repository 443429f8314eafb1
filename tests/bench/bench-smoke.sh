#!/bin/sh
# make check runs the benchmark tools once, small, against mcfs on a file://
# bucket: the load generator's every check (data, counts, verifiers,
# listings) must pass, so the benchmark cannot rot, and the gateway gets one
# more end-to-end data test. The figures it prints mean nothing here (the
# test build has sanitizers): `make bench` is for figures.
set -eu
b="${MCFS_TOP_BUILDDIR:-.}"
tmpfs=/dev/shm
[ -d "$tmpfs" ] && [ -w "$tmpfs" ] || tmpfs="${TMPDIR:-/tmp}"
exec "$b/tests/bench/mcfs-bench" --targets mcfs-file --runs 1 --no-tcp --no-warmup \
	--tmpfs "$tmpfs" --file-size 16M --files 300 --rand-ops 1000 --min-time 0
