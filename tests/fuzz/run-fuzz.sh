#!/bin/sh
# Builds the RPC message fuzzer with clang (libFuzzer, ASan, UBSan) and runs
# it for a bounded time over the seed corpus.
#
# Environment:
#   FUZZ_SECONDS   run time in seconds (default 60)
#   FUZZ_WORKDIR   build products, the grown corpus and crash artifacts
#                  (default ./fuzz-work, i.e. under the build dir from make)
#   XDR_DIR        directory holding rpcgen's headers and routines for
#                  rpc_msg, nfs3, mount3 and nfs4 (NAME.h, NAME_xdr.c); when unset
#                  they are generated here from gateway/xdr/NAME.x
#   CC_FUZZ        clang to use (default clang)
#   FUZZ_ARGS      extra libFuzzer options
# Exits non-zero when the build fails or the fuzzer finds a crash, a leak or
# undefined behaviour; the input that did it is left in FUZZ_WORKDIR.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
work=${FUZZ_WORKDIR:-$PWD/fuzz-work}
cc=${CC_FUZZ:-clang}

case $seconds in
'' | *[!0-9]*)
	echo "run-fuzz.sh: FUZZ_SECONDS must be a whole number of seconds" >&2
	exit 2
	;;
esac

# Installing is only attempted where it can work: as root with apt, and only
# if the archive offers clang at all.
if ! command -v "$cc" >/dev/null 2>&1; then
	if [ "$cc" = clang ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 &&
		apt-cache policy clang 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		echo "run-fuzz.sh: installing clang" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang >&2
	else
		echo "run-fuzz.sh: $cc not found; install clang (Debian: apt-get install clang)" >&2
		exit 2
	fi
fi

mkdir -p "$work/corpus" "$work/artifacts"

xdr_names="rpc_msg nfs3 mount3 nfs4"
if [ -z "${XDR_DIR:-}" ]; then
	XDR_DIR=$work/xdr
	mkdir -p "$XDR_DIR"
	# rpcgen names the header include after its input, hence the local copy.
	for x in $xdr_names; do
		cp "$srcdir/gateway/xdr/$x.x" "$XDR_DIR/$x.x"
		(cd "$XDR_DIR" && rm -f "$x.h" "${x}_xdr.c" &&
			rpcgen -h -o "$x.h" "$x.x" && rpcgen -c -o "${x}_xdr.c" "$x.x")
	done
fi

tirpc_cflags=$(pkg-config --cflags libtirpc)
tirpc_libs=$(pkg-config --libs libtirpc)
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
cflags="-std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $san $tirpc_cflags"
warn="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter"
inc="-I$srcdir/gateway -I$XDR_DIR"

# Generated code gets no warnings, as in the main build.
xdr_objs=
for x in $xdr_names; do
	# shellcheck disable=SC2086
	"$cc" $cflags -w -c "$XDR_DIR/${x}_xdr.c" -o "$work/${x}_xdr.o"
	xdr_objs="$xdr_objs $work/${x}_xdr.o"
done
# shellcheck disable=SC2086
"$cc" $cflags $warn $inc -c "$srcdir/gateway/rpc.c" -o "$work/rpc.o"
# shellcheck disable=SC2086
"$cc" $cflags $warn $inc -c "$srcdir/tests/fuzz/fuzz_rpc.c" -o "$work/fuzz_rpc.o"
# shellcheck disable=SC2086
"$cc" $san "$work/fuzz_rpc.o" "$work/rpc.o" $xdr_objs $tirpc_libs -o "$work/fuzz_rpc"

# New inputs go to the first corpus directory, so the seeds in the source
# tree stay as committed.
# shellcheck disable=SC2086
"$work/fuzz_rpc" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" ${FUZZ_ARGS:-} \
	"$work/corpus" "$srcdir/tests/fuzz/corpus/rpc"
