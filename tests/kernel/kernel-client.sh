#!/bin/sh
# The real Linux NFS client against mcfs-gateway: boots a Debian kernel under
# qemu (software emulation unless MCFS_KERNEL_ACCEL says otherwise) with the
# initramfs of build-initramfs.sh, whose /init (init.sh) mounts the gateway
# and runs the workload, and waits for its verdict on the serial console.
#
# Everything runs inside a network namespace of its own (mcfs-k-PID): a tap
# device for qemu with 10.199.N.1/24 (N = PID % 250) on the host end,
# redis-server on the namespace's loopback, mcfs-gateway on the tap address,
# and the guest at 10.199.N.2. No packet leaves the namespace. Processes are
# stopped by PID and the namespace is deleted on every exit.
#
# Environment:
#   MCFS_TOP_BUILDDIR   where mcfs and mcfs-gateway are (default: .)
#   MCFS_KERNEL_VERS    NFS versions to run, comma separated
#                       (default 3,4.0,4.1,4.2)
#   MCFS_KERNEL_TIMEOUT seconds to wait for the guest's verdict (default 1200)
#   MCFS_KERNEL_SIZE    big file in MiB (default 64)
#   MCFS_KERNEL_FILES   small files (default 1000)
#   MCFS_KERNEL_OPTS    extra NFS mount options, comma separated, appended
#                       (later ones win: proto=udp,mountproto=udp tries UDP)
#   MCFS_KERNEL_GW_LOG_LEVEL  the gateway's --log-level (default info; debug
#                       logs every procedure)
#   MCFS_KERNEL_ACCEL   tcg (default), kvm, or auto (kvm when /dev/kvm works)
#   MCFS_KERNEL_CACHE   kernel/initramfs cache (default
#                       $MCFS_TOP_BUILDDIR/tests/kernel/cache)
#   MCFS_KERNEL_KEEP=1  keep the work directory (logs, bucket) after a pass
# Exit status (automake): 0 pass, 1 fail, 77 skip (this machine cannot run
# it: not root, no /dev/net/tun, no network namespaces, no qemu), 99 error.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${MCFS_TOP_BUILDDIR:-.}" && pwd)
vers=${MCFS_KERNEL_VERS:-3,4.0,4.1,4.2}
timeout=${MCFS_KERNEL_TIMEOUT:-1200}
size=${MCFS_KERNEL_SIZE:-64}
nfiles=${MCFS_KERNEL_FILES:-1000}
accel=${MCFS_KERNEL_ACCEL:-tcg}
xopts=${MCFS_KERNEL_OPTS:-}
gw_log_level=${MCFS_KERNEL_GW_LOG_LEVEL:-info}

t_start=$(date +%s.%N)
say() { echo "kernel-client: $*"; }
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
status=99
skip() {
	say "SKIP: $*"
	status=77
	exit 77
}

# ---------------------------------------------------------------- can we?
[ "$(id -u)" = 0 ] || skip "needs root (network namespace, tap device)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null 2>&1 || skip "no ip(8) (iproute2)"
command -v redis-server >/dev/null 2>&1 || skip "no redis-server"
for b in mcfs mcfs-gateway; do
	[ -x "$build/$b" ] || {
		say "ERROR: $build/$b is missing (set MCFS_TOP_BUILDDIR)"
		exit 99
	}
done

ns="mcfs-k-$$"
net="10.199.$(($$ % 250))"
host_ip="$net.1"
guest_ip="$net.2"
tap="mcfstap0"
nfs_port=2049
redis_port=6379
work=""
qemu_pid="" gw_pid="" redis_pid=""
ns_made=no

# Stops one process we started: SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
	pid=$1
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null
		return 0
	}
	kill -TERM "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "pid $pid did not stop in $2 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}

cleanup() {
	trap - EXIT INT TERM HUP
	stop_pid "$qemu_pid" 5
	gw_rc=""
	if [ -n "$gw_pid" ]; then
		if kill -0 "$gw_pid" 2>/dev/null; then
			kill -TERM "$gw_pid" 2>/dev/null
			i=0
			while kill -0 "$gw_pid" 2>/dev/null && [ $i -lt 600 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			kill -0 "$gw_pid" 2>/dev/null && {
				say "mcfs-gateway did not stop in 60 s: SIGKILL"
				kill -KILL "$gw_pid"
			}
		fi
		wait "$gw_pid" 2>/dev/null
		gw_rc=$?
		[ "$gw_rc" = 0 ] || {
			say "mcfs-gateway exited with status $gw_rc"
			[ "$status" = 0 ] && status=1
		}
	fi
	stop_pid "$redis_pid" 10
	[ "$ns_made" = yes ] && ip netns del "$ns" 2>/dev/null
	if [ -n "$work" ]; then
		if [ "$status" = 0 ] && [ -z "${MCFS_KERNEL_KEEP:-}" ]; then
			rm -rf "$work"
		else
			say "logs kept in $work"
		fi
	fi
	say "total $(elapsed) s"
	exit "$status"
}
trap cleanup EXIT
trap 'status=1; say "interrupted"; exit 1' INT TERM HUP

# ---------------------------------------------------------------- kernel
say "kernel and initramfs (cached in ${MCFS_KERNEL_CACHE:-$build/tests/kernel/cache})"
out=$(MCFS_TOP_BUILDDIR="$build" sh "$here/build-initramfs.sh" 2>&1)
rc=$?
echo "$out" | grep -v '^KERNEL=\|^INITRD=' | sed 's/^/  /'
case $rc in
0) ;;
77) skip "cannot get qemu or the kernel packages (see above)" ;;
*)
	say "ERROR: build-initramfs.sh failed ($rc)"
	exit 99
	;;
esac
kernel=$(echo "$out" | sed -n 's/^KERNEL=//p')
initrd=$(echo "$out" | sed -n 's/^INITRD=//p')
command -v qemu-system-x86_64 >/dev/null 2>&1 || { skip "no qemu-system-x86_64"; }
say "ready after $(elapsed) s"

case $accel in
auto) if [ -w /dev/kvm ]; then accel=kvm; else accel=tcg; fi ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/mcfs-kernel.XXXXXX")
mkdir -p "$work/redis" "$work/bucket"

# ---------------------------------------------------------------- namespace
if ! ip netns add "$ns" 2>"$work/netns.err"; then
	skip "ip netns add is not permitted here: $(cat "$work/netns.err")"
fi
ns_made=yes
# (background processes are started with ip netns exec itself, which execs
# them: $! is then their PID)
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up || { skip "cannot configure lo in a network namespace"; }
if ! ip -n "$ns" tuntap add dev "$tap" mode tap 2>"$work/tap.err"; then
	skip "cannot create a tap device: $(cat "$work/tap.err")"
fi
ip -n "$ns" addr add "$host_ip/24" dev "$tap" &&
	ip -n "$ns" link set "$tap" up || exit 99
say "namespace $ns: $tap $host_ip/24, guest $guest_ip"

# ---------------------------------------------------------------- servers
ip netns exec "$ns" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" \
	--appendonly yes --appendfsync always --save "" --protected-mode no \
	>"$work/redis.log" 2>&1 &
redis_pid=$!
i=0
until nsx redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; do
	i=$((i + 1))
	kill -0 "$redis_pid" 2>/dev/null && [ $i -lt 100 ] || {
		say "ERROR: redis-server did not start:"
		tail -20 "$work/redis.log"
		exit 99
	}
	sleep 0.1
done
meta="redis://127.0.0.1:$redis_port"

if ! nsx "$build/mcfs" format --meta "$meta" --bucket "file://$work/bucket" kernel \
	>"$work/format.log" 2>&1; then
	say "ERROR: mcfs format failed:"
	cat "$work/format.log"
	exit 99
fi

# Starts mcfs-gateway in the namespace (log appended) and waits until it listens.
start_gateway() {
	ip netns exec "$ns" "$build/mcfs-gateway" --foreground --no-rpcbind --meta "$meta" \
		--log-level "$gw_log_level" --lease-time 10 --grace-time 10 \
		--listen "$host_ip:$nfs_port" --export "/:rw,no_root_squash,clients=$net.0/24" \
		>>"$work/gateway.log" 2>&1 &
	gw_pid=$!
	i=0
	until nsx ss -Hltn "sport = :$nfs_port" 2>/dev/null | grep -q LISTEN; do
		i=$((i + 1))
		kill -0 "$gw_pid" 2>/dev/null && [ $i -lt 300 ] || {
			say "ERROR: mcfs-gateway did not start:"
			tail -30 "$work/gateway.log"
			return 1
		}
		sleep 0.1
	done
}
: >"$work/gateway.log"
start_gateway || exit 99
say "redis-server (pid $redis_pid) and mcfs-gateway (pid $gw_pid) up after $(elapsed) s"

# ---------------------------------------------------------------- guest
console="$work/console.log"
: >"$console"
# A second serial port (the guest's ttyS1) carries the host's answers to
# "MCFS-HOST: <action>" requests: the guest asks for the gateway to be
# crashed or restarted under its mount, and waits for "done".
mkfifo "$work/ctl.in" "$work/ctl.out"
append="console=ttyS0 panic=-1 quiet mcfs.server=$host_ip mcfs.guest=$guest_ip/24"
append="$append mcfs.port=$nfs_port mcfs.vers=$vers mcfs.size=$size mcfs.files=$nfiles"
[ -n "$xopts" ] && append="$append mcfs.opts=$xopts"
t_boot=$(date +%s.%N)
ip netns exec "$ns" qemu-system-x86_64 -accel "$accel" -m 512 -smp 1 -nodefaults -no-reboot \
	-display none -monitor none -serial "file:$console" \
	-chardev "pipe,id=ctl,path=$work/ctl" -serial chardev:ctl \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
	-device "virtio-net-pci,netdev=n0,mac=52:54:00:c7:$(printf %02x $(($$ % 250))):02" \
	>"$work/qemu.log" 2>&1 &
qemu_pid=$!
say "qemu (pid $qemu_pid, $accel) booting; NFS versions $vers; deadline $timeout s"

# Carries out the guest's request $1 on the gateway; answers on ttyS1.
host_action() {
	t0=$(date +%s.%N)
	case "$1" in
	crash-gateway) # SIGKILL: buffered UNSTABLE writes are lost, the client must resend
		kill -KILL "$gw_pid" 2>/dev/null
		wait "$gw_pid" 2>/dev/null
		echo "--- SIGKILL and restart (kernel-client.sh)" >>"$work/gateway.log"
		;;
	restart-gateway) # SIGTERM: flushes, must exit 0
		kill -TERM "$gw_pid" 2>/dev/null
		wait "$gw_pid" 2>/dev/null
		rc=$?
		echo "--- SIGTERM (exit status $rc) and restart (kernel-client.sh)" >>"$work/gateway.log"
		[ $rc = 0 ] || {
			say "mcfs-gateway exited with status $rc on SIGTERM"
			gw_term_failed=yes
		}
		;;
	*)
		say "unknown request from the guest: $1"
		echo "unknown" >"$work/ctl.in"
		return
		;;
	esac
	if start_gateway; then
		say "host: $1 done in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s (new pid $gw_pid)"
		echo "done" >"$work/ctl.in"
	else
		echo "failed" >"$work/ctl.in"
	fi
}
gw_term_failed=no
handled=0

# Relays the console's progress lines while waiting for the verdict.
shown=0
verdict=""
deadline=$(($(date +%s) + timeout))
while :; do
	lines=$(wc -l <"$console")
	if [ "$lines" -gt "$shown" ]; then
		sed -n "$((shown + 1)),${lines}p" "$console" | tr -d '\r' |
			grep -a '^MCFS-' | sed 's/^/  guest: /'
		shown=$lines
	fi
	verdict=$(grep -a '^MCFS-KERNEL-TEST: ' "$console" | tail -1 | tr -d '\r')
	[ -n "$verdict" ] && break
	reqs=$(grep -a '^MCFS-HOST: ' "$console" | tr -d '\r')
	n=$(printf '%s' "$reqs" | grep -c .)
	while [ "$handled" -lt "$n" ]; do
		handled=$((handled + 1))
		host_action "$(echo "$reqs" | sed -n "${handled}p" | sed 's/^MCFS-HOST: //')"
	done
	kill -0 "$qemu_pid" 2>/dev/null || break
	[ "$(date +%s)" -lt "$deadline" ] || break
	sleep 0.5
done
# (it may have printed the verdict and powered off since the last look)
[ -n "$verdict" ] || verdict=$(grep -a '^MCFS-KERNEL-TEST: ' "$console" | tail -1 | tr -d '\r')
guest_s=$(awk -v a="$t_boot" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
# let it power off by itself (the final lines are flushed by then)
i=0
while kill -0 "$qemu_pid" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
lines=$(wc -l <"$console")
[ "$lines" -gt "$shown" ] && sed -n "$((shown + 1)),${lines}p" "$console" | tr -d '\r' |
	grep -a '^MCFS-' | grep -av '^MCFS-KERNEL-TEST' | sed 's/^/  guest: /'

gw_problems() {
	grep -aiE 'warn|error|fail|assert|sanitizer|runtime error' "$work/gateway.log" | head -40
}

[ "$gw_term_failed" = yes ] && [ "$verdict" = "MCFS-KERNEL-TEST: PASS" ] &&
	verdict="MCFS-KERNEL-TEST: FAIL mcfs-gateway exited non-zero on SIGTERM"
case "$verdict" in
"MCFS-KERNEL-TEST: PASS")
	status=0
	say "PASS: guest finished in $guest_s s (boot + workload)"
	p=$(gw_problems)
	[ -n "$p" ] && {
		say "gateway log lines worth a look:"
		echo "$p" | sed 's/^/  gateway: /'
	}
	;;
*)
	status=1
	if [ -n "$verdict" ]; then
		say "FAIL: ${verdict#MCFS-KERNEL-TEST: }"
	elif kill -0 "$qemu_pid" 2>/dev/null; then
		say "FAIL: no verdict within $timeout s; last guest lines:"
	else
		say "FAIL: qemu exited without a verdict; last console lines:"
	fi
	echo "--- console (last 60 lines)"
	tail -60 "$console" | tr -d '\r'
	echo "--- qemu"
	tail -10 "$work/qemu.log"
	echo "--- gateway log (last 60 lines)"
	tail -60 "$work/gateway.log"
	;;
esac
exit "$status"
