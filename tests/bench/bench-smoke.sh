#!/bin/sh
# make check runs the benchmark tools once, small, against mcfs on a file://
# bucket: the load generator's every check (data, counts, verifiers,
# listings) must pass, so the benchmark cannot rot, and the gateway gets one
# more end-to-end data test. The figures it prints mean nothing here (the
# test build has sanitizers): `make bench` is for figures. What must be
# there is every figure, and the servers' CPU time beside it.
set -eu
b="${MCFS_TOP_BUILDDIR:-.}"
tmpfs=/dev/shm
[ -d "$tmpfs" ] && [ -w "$tmpfs" ] || tmpfs="${TMPDIR:-/tmp}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$b/tests/bench/mcfs-bench" --targets mcfs-file --runs 1 --no-tcp --no-warmup \
	--tmpfs "$tmpfs" --file-size 16M --files 300 --rand-ops 1000 --min-time 0 >"$out" || rc=$?
cat "$out"
[ "$rc" = 0 ] || exit "$rc"
for w in seqwrite seqread randread create stat readdir remove; do
	if ! grep -q "^median label=mcfs-file workload=$w .*value=[0-9].* server_cpu_us=[0-9]" "$out"; then
		echo "bench-smoke: no figure, or no server CPU time, for $w" >&2
		exit 1
	fi
done
