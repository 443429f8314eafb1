#!/bin/sh
# The main job on the embedded default: installs what is needed, builds
# mcfs, starts a local redis-server (data under ./run), formats a volume on a
# file:// bucket (./run/bucket) if there is none yet, starts the NFS gateway,
# copies a file in and out through it, and shows how to mount it.
# Run it again at any time: it reuses what is already there.
# MCFS_LISTEN (default 127.0.0.1:2049) is where the gateway listens.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run="${MCFS_RUN_DIR:-$top/run}"
port="${MCFS_REDIS_PORT:-6390}"
volume="${MCFS_VOLUME:-data}"
listen="${MCFS_LISTEN:-127.0.0.1:2049}"
nfsport="${listen##*:}"
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
gateway="$top/build/release/mcfs-gateway"
if [ ! -f "$run/gateway.pid" ] || ! kill -0 "$(cat "$run/gateway.pid")" 2>/dev/null; then
	# Detaches once it serves; start-up errors are printed here.
	"$gateway" --meta "$meta" --listen "$listen" --export "/:rw,no_root_squash" \
		--pid-file "$run/gateway.pid" --cache-dir "$run/cache" --cache-size 1G
fi
# A round trip through the gateway with Debian's libnfs tools.
head -c 3000000 /dev/urandom > "$run/sample.in"
nfs-cp "$run/sample.in" "nfs://${listen%:*}/sample.bin?nfsport=$nfsport&mountport=$nfsport&version=3&auto-traverse-mounts=0" >/dev/null
nfs-cp "nfs://${listen%:*}/sample.bin?nfsport=$nfsport&mountport=$nfsport&version=3&auto-traverse-mounts=0" "$run/sample.out" >/dev/null
cmp "$run/sample.in" "$run/sample.out" && echo "quickstart: copied 3 MB in and out through the gateway: identical"
"$mcfs" status --meta "$meta"
cat <<MSG

mcfs is up: metadata in redis-server on 127.0.0.1:$port (data in $run/redis),
blocks in $run/bucket, the NFS gateway on $listen (NFSv3, MOUNT on the same port).

Mount it from a Linux client:
  mount -t nfs -o vers=3,proto=tcp,port=$nfsport,mountport=$nfsport ${listen%:*}:/ /mnt/mcfs
or try it without a kernel client (Debian's libnfs-utils):
  nfs-ls 'nfs://${listen%:*}/?nfsport=$nfsport&mountport=$nfsport&version=3'
  nfs-cp FILE "nfs://${listen%:*}/FILE?nfsport=$nfsport&mountport=$nfsport&version=3&auto-traverse-mounts=0"

  status:  $mcfs status --meta $meta
  check:   $mcfs fsck --meta $meta
  stop:    kill \$(cat $run/gateway.pid) \$(cat $run/redis/redis.pid)
MSG
