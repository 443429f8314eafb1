#!/bin/sh
# make check runs the benchmark tools once, small, against mcfs on a file://
# bucket and through a mirror region's gateway (with its Redis replica and
# both regions' replicators): the load generator's every check (data,
# counts, verifiers, listings) must pass, so the benchmark cannot rot, and
# the gateways get one more end-to-end data test. The figures it prints mean nothing here (the
# test build has sanitizers): `make bench` is for figures. What must be
# there is every figure, and the servers' CPU time beside it.
set -eu
b="${MCFS_TOP_BUILDDIR:-.}"
tmpfs=/dev/shm
[ -d "$tmpfs" ] && [ -w "$tmpfs" ] || tmpfs="${TMPDIR:-/tmp}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$b/tests/bench/mcfs-bench" --targets mcfs-file,mcfs-mirror --runs 1 --no-tcp --no-warmup \
	--settle-max 0 --tmpfs "$tmpfs" --file-size 16M --files 300 --rand-ops 1000 --min-time 0 \
	>"$out" || rc=$?
cat "$out"
[ "$rc" = 0 ] || exit "$rc"
for t in mcfs-file mcfs-mirror; do
	for w in seqwrite seqread randread create stat readdir remove; do
		if ! grep -q "^median label=$t workload=$w .*value=[0-9].* server_cpu_us=[0-9]" "$out"; then
			echo "bench-smoke: no figure, or no server CPU time, for $t $w" >&2
			exit 1
		fi
	done
done

# ^C mid-run: the bench stops its generator at once (not when the run would
# end, half a minute later here), stops every server it started, and fails.
err=$(mktemp)
bench=
# On a failure below, the bench goes too, and its children with it (they
# die with their parent: PR_SET_PDEATHSIG).
trap 'rm -f "$out" "$err"; [ -z "$bench" ] || kill -KILL $bench 2>/dev/null || true' EXIT
"$b/tests/bench/mcfs-bench" --targets mcfs-file --runs 1 --no-tcp --no-warmup \
	--settle-max 0 --tmpfs "$tmpfs" --file-size 16M --files 300 --min-time 30 --workloads seqread \
	>"$out" 2>"$err" &
bench=$!
wait_for() { # condition, seconds
	n=0
	while ! eval "$1"; do
		n=$((n + 1))
		[ $n -lt $(($2 * 10)) ] || { echo "bench-smoke: timed out: $1" >&2; cat "$err" >&2; exit 1; }
		sleep 0.1
	done
}
wait_for 'grep -q "run 1/1: mcfs-file" "$err"' 60
children=$(pgrep -P $bench | tr '\n' ' ')
[ -n "$children" ] || { echo "bench-smoke: no server or generator running" >&2; exit 1; }
kill -INT $bench
wait_for '! kill -0 $bench 2>/dev/null' 15
rc=0
wait $bench || rc=$?
bench=
[ "$rc" = 1 ] || { echo "bench-smoke: interrupted bench exited $rc, not 1" >&2; exit 1; }
grep -q "interrupted" "$err" || { echo "bench-smoke: the run was not reported interrupted" >&2; exit 1; }
for pid in $children; do
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench-smoke: process $pid outlived the interrupted bench" >&2
		exit 1
	fi
done
echo "bench-smoke: an interrupted bench stopped everything it started"
