#!/bin/sh
# Installs everything mcfs needs to build and test on Debian 12:
# the build tool chain and libraries from Debian, redis-server, libnfs, and
# the S3 test server from npm (into tests/.tools, never system-wide).
# --bench adds the benchmarks' peer and tools: NFS-Ganesha with FSAL VFS,
# rpcbind (Ganesha will not start without one), iperf3 and unshare.
# Usage: contrib/install-deps.sh [--test|--bench]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
want_test=no
want_bench=no
case "${1:-}" in
--test) want_test=yes ;;
--bench) want_test=yes want_bench=yes ;;
esac

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pkgs="build-essential autoconf automake libtool pkg-config
      libtirpc-dev libhiredis-dev libcurl4-openssl-dev libssl-dev liburcu-dev
      libinih-dev libboost-context-dev libjemalloc-dev libcunit1-dev redis-server libnfs-dev libnfs-utils rpcsvc-proto"
# The kernel-client test: qemu, and ip(8) for its network namespace; the
# object-store test: openssl(1), for s3rver's certificate.
[ "$want_test" = yes ] && pkgs="$pkgs qemu-system-x86 iproute2 gzip openssl"
[ "$want_bench" = yes ] && pkgs="$pkgs nfs-ganesha nfs-ganesha-vfs rpcbind iperf3 util-linux"
# node and npm may come from elsewhere (NodeSource bundles npm): only ask
# Debian for them when they are missing.
if [ "$want_test" = yes ] && ! { command -v node >/dev/null && command -v npm >/dev/null; }; then
	pkgs="$pkgs nodejs npm"
fi

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# Debian starts redis-server as a service on install; mcfs runs its own.
if [ "$want_test" = yes ]; then
	tools="$top/tests/.tools"
	if [ ! -f "$tools/node_modules/@20minutes/s3rver/lib/s3rver.js" ]; then
		echo "install-deps: installing @20minutes/s3rver into $tools"
		mkdir -p "$tools"
		(cd "$tools" && npm install --no-audit --no-fund --loglevel=error \
			--prefix "$tools" @20minutes/s3rver@4.0.4 >/dev/null)
	fi
fi
echo "install-deps: ok"
