#!/bin/sh
# The main job on the embedded default: installs what is needed, builds
# mcfs, starts a local redis-server (data under ./run), formats a volume on a
# file:// bucket (./run/bucket) if there is none yet, and shows its status.
# Run it again at any time: it reuses what is already there.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run="${MCFS_RUN_DIR:-$top/run}"
port="${MCFS_REDIS_PORT:-6390}"
volume="${MCFS_VOLUME:-data}"
"$top/contrib/install-deps.sh"
cd "$top"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p "$top/build/release" "$run/redis" "$run/bucket"
cd "$top/build/release"
[ -f Makefile ] || "$top/configure" >/dev/null
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
mcfs="$top/build/release/mcfs"
meta="redis://127.0.0.1:$port"
if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
	redis-server --port "$port" --bind 127.0.0.1 --dir "$run/redis" \
		--appendonly yes --appendfsync always --save "" \
		--daemonize yes --pidfile "$run/redis/redis.pid" --logfile "$run/redis/redis.log"
	i=0
	until redis-cli -p "$port" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "quickstart: redis-server did not start (see $run/redis/redis.log)"; exit 1; }
		sleep 0.1
	done
fi
if ! "$mcfs" status --meta "$meta" --no-bucket-check >/dev/null 2>&1; then
	"$mcfs" format --meta "$meta" --bucket "file://$run/bucket" "$volume"
fi
"$mcfs" status --meta "$meta"
cat <<MSG

mcfs is up: metadata in redis-server on 127.0.0.1:$port (data in $run/redis),
blocks in $run/bucket.
  status:  $mcfs status --meta $meta
  check:   $mcfs fsck --meta $meta
  stop:    kill \$(cat $run/redis/redis.pid)
MSG
