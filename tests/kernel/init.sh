#!/bin/sh
# /init of the kernel-client test's initramfs (busybox ash). It brings up the
# NIC, mounts the gateway with the kernel's own NFS client and runs the
# workload once per NFS version named on the kernel command line, then prints
# one final line and powers off:
#   MCFS-KERNEL-TEST: PASS
#   MCFS-KERNEL-TEST: FAIL <reason>
# Parameters (kernel command line):
#   mcfs.server=IP       the gateway (the host end of the tap)
#   mcfs.guest=IP/PREFIX this guest's address on eth0
#   mcfs.port=P          NFS and MOUNT port of the gateway
#   mcfs.vers=3[,4.0,4.1,4.2]  versions to run, in order (default 3)
#   mcfs.export=/        path to mount
#   mcfs.size=64         size of the big file in MiB
#   mcfs.files=1000      number of small files
#   mcfs.opts=a,b        extra mount options appended for every version
# Progress lines start with "MCFS-STEP:", kernel messages worth reading are
# repeated at the end as "MCFS-DMESG:".
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp /mnt
mount -t tmpfs -o size=400m tmpfs /tmp
exec </dev/console >/dev/console 2>&1
# ttyS1: answers from the host, raw
stty -F /dev/ttyS1 raw -echo 2>/dev/null

server="" guest="" port=2049 versions=3 expath=/ size=64 nfiles=1000 xopts=""
for w in $(cat /proc/cmdline); do
	case "$w" in
	mcfs.server=*) server=${w#*=} ;;
	mcfs.guest=*) guest=${w#*=} ;;
	mcfs.port=*) port=${w#*=} ;;
	mcfs.vers=*) versions=${w#*=} ;;
	mcfs.export=*) expath=${w#*=} ;;
	mcfs.size=*) size=${w#*=} ;;
	mcfs.files=*) nfiles=${w#*=} ;;
	mcfs.opts=*) xopts=${w#*=} ;;
	esac
done
guest_ip=${guest%/*}
M=/mnt

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
mibps() { awk -v mib="$1" -v a="$2" -v b="$(now)" 'BEGIN { d = b - a; if (d <= 0) d = 0.01; printf "%.1f", mib / d }'; }

dump_dmesg() {
	dmesg | grep -iE 'nfs|rpc|lockd|sunrpc|call trace|bug:|warning:|oops|virtio|eth0' |
		grep -vE 'Command line|Registered .* transport module|Registering the id_resolver' | sed 's/^/MCFS-DMESG: /'
}

finish() {
	cd /
	dump_dmesg
	echo "MCFS-KERNEL-TEST: $*"
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

# A failed check: says where, and ends the run.
fail() {
	echo "MCFS-STEP: FAILED in [$vers] $step: $*"
	finish "FAIL vers=$vers step=$step: $*"
}

step=boot vers=-
t_step=$(now)
begin() {
	step=$1
	t_step=$(now)
	echo "MCFS-STEP: [$vers] $step ..."
}
done_() { echo "MCFS-STEP: [$vers] $step ok ($(since "$t_step") s${1:+, $1})"; }

# Run a command; on failure report it with (the end of) its output.
run() {
	out=$("$@" 2>&1) || fail "'$*' failed: $(echo "$out" | tail -3 | tr '\n' ' ')"
	return 0
}
expect() { # expect WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

echo "MCFS-STEP: init started at $(now) s, kernel $(uname -r)"
[ -n "$server" ] && [ -n "$guest" ] || finish "FAIL missing mcfs.server= or mcfs.guest= on the command line"

# ------------------------------------------------------------- modules, NIC
begin modules
for m in virtio_pci virtio_net e1000 sunrpc grace lockd nfs_acl nfs nfsv3 nfsv4; do
	modprobe "$m" 2>/dev/null || echo "MCFS-STEP: modprobe $m failed (may be fine)"
done
for m in sunrpc nfs nfsv3; do
	grep -q "^$m " /proc/modules || fail "module $m is not loaded"
done
done_

begin network
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /sys/class/net/eth0 ] || fail "no eth0 (is the NIC driver in the initramfs?)"
ip link set lo up
ip addr add "$guest" dev eth0 || fail "ip addr add $guest"
ip link set eth0 up || fail "ip link set eth0 up"
i=0
until ping -c 1 -W 1 "$server" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 20 ] || fail "cannot ping $server from $guest"
	sleep 0.5
done
done_ "$guest -> $server"

# ------------------------------------------------------------- the workload
mount_opts() {
	case "$1" in
	3) o="vers=3,proto=tcp,port=$port,mountport=$port,mountproto=tcp,mountvers=3,nolock,addr=$server,mountaddr=$server" ;;
	# 4.1 and later: one session over several connections, as GPU nodes mount
	4.1 | 4.2) o="vers=$1,proto=tcp,port=$port,addr=$server,clientaddr=$guest_ip,nconnect=4" ;;
	4 | 4.*) o="vers=$1,proto=tcp,port=$port,addr=$server,clientaddr=$guest_ip" ;;
	*) o="vers=$1,addr=$server" ;;
	esac
	[ -n "$xopts" ] && o="$o,$xopts"
	echo "$o"
}

do_mount() {
	run nfsmount "$server:$expath" "$M" "$(mount_opts "$vers")"
	grep " $M " /proc/mounts | sed 's/^/MCFS-STEP: mounted: /'
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

md5() { md5sum "$1" | cut -d' ' -f1; }

# Asks the host (kernel-client.sh, watching the console) to do something to
# the gateway, and waits for its answer on the second serial port.
host_do() {
	echo "MCFS-HOST: $1"
	read -r -t 120 ans </dev/ttyS1 || fail "no answer from the host to '$1'"
	[ "$ans" = done ] || fail "the host answered '$ans' to '$1'"
}

# Streams $2 MiB of big.src into file $1 through an open descriptor, with
# writeback sending UNSTABLE WRITEs (and COMMITs) all along, while the host
# does $3 to the gateway; then closes the file (flush + COMMIT: after a crash
# the write verifier differs and the client must send again what it had not
# seen committed) and checks the data.
write_across() {
	bg=$(cat /proc/sys/vm/dirty_background_ratio)
	echo 262144 >/proc/sys/vm/dirty_background_bytes
	exec 3>"$1"
	(
		i=0
		while [ $i -lt "$2" ]; do # 1 MiB at a time, paced: the stream outlasts the restart
			dd if=/tmp/big.src bs=64k count=16 skip=$((i * 16)) >&3 2>/dev/null || exit 1
			sleep 0.1
			i=$((i + 1))
		done
	) &
	ddpid=$!
	sleep 1
	host_do "$3"
	wait $ddpid || fail "writing $1 failed"
	exec 3>&-
	echo "$bg" >/proc/sys/vm/dirty_background_ratio
	want=$(dd if=/tmp/big.src bs=1M count="$2" 2>/dev/null | md5sum | cut -d' ' -f1)
	expect "md5 of $1 (cached)" "$(md5 "$1")" "$want"
	drop_caches
	got=$(md5 "$1")
	[ "$got" = "$want" ] ||
		fail "md5 of $1 after $3: got $got, want $want; cmp: $(dd if=/tmp/big.src bs=1M count="$2" 2>/dev/null | cmp - "$1" 2>&1 | head -2 | tr '\n' ' ')"
	expect "size of $1" "$(stat -c %s "$1")" "$(($2 * 1048576))"
}

workload() {
	vers=$1
	T="$M/t-v$vers"

	begin mount
	do_mount
	df -k "$M" | tail -1 | sed 's/^/MCFS-STEP: df: /'
	rm -rf "$T" 2>/dev/null
	run mkdir "$T"
	done_

	begin mkdir-tree
	run mkdir -p "$T/a/b/c"
	[ -d "$T/a/b/c" ] || fail "$T/a/b/c is not a directory"
	expect "ls a" "$(ls "$T/a")" "b"
	done_

	begin big-write
	if [ ! -f /tmp/big.src ]; then
		run dd if=/dev/urandom of=/tmp/big.src bs=1M count="$size"
		big_md5=$(md5 /tmp/big.src)
	fi
	t0=$(now)
	run dd if=/tmp/big.src of="$T/big" bs=1M conv=fsync
	done_ "$size MiB, $(mibps "$size" "$t0") MiB/s, md5 $big_md5"

	begin big-read
	drop_caches
	t0=$(now)
	got=$(md5 "$T/big")
	rate=$(mibps "$size" "$t0")
	if [ "$got" != "$big_md5" ]; then
		fail "checksum after drop_caches: got $got, want $big_md5; cmp: $(cmp /tmp/big.src "$T/big" 2>&1 | head -2 | tr '\n' ' ')"
	fi
	expect "size of big" "$(stat -c %s "$T/big")" "$((size * 1048576))"
	done_ "$rate MiB/s"

	begin big-append
	# crosses into the second 64 MiB chunk when size is 64
	echo "appended line" >>"$T/big" || fail "echo >> big"
	cp /tmp/big.src /tmp/big.cur && echo "appended line" >>/tmp/big.cur
	app_md5=$(md5 /tmp/big.cur)
	drop_caches
	expect "size of big after append" "$(stat -c %s "$T/big")" "$((size * 1048576 + 14))"
	expect "md5 of big after append" "$(md5 "$T/big")" "$app_md5"
	expect "tail of big" "$(tail -c 14 "$T/big")" "appended line"
	done_

	begin big-overwrite
	# a slice in the middle, at an offset aligned to nothing, over a 4 MiB
	# block boundary; then 64 KiB with O_DIRECT (sent to the server as it is)
	run dd if=/dev/urandom of=/tmp/patch bs=1000 count=300
	off=$((size * 524288 - 123457))
	run dd if=/tmp/patch of="$T/big" bs=100000 seek="$off" oflag=seek_bytes conv=notrunc
	run dd if=/tmp/patch of=/tmp/big.cur bs=100000 seek="$off" oflag=seek_bytes conv=notrunc
	off=$((size * 786432 / 65536 * 65536))
	run dd if=/tmp/patch of="$T/big" bs=4096 count=16 seek="$off" oflag=seek_bytes,direct conv=notrunc
	run dd if=/tmp/patch of=/tmp/big.cur bs=4096 count=16 seek="$off" oflag=seek_bytes conv=notrunc
	cur_md5=$(md5 /tmp/big.cur)
	expect "md5 after overwrite (cached)" "$(md5 "$T/big")" "$cur_md5"
	drop_caches
	got=$(md5 "$T/big")
	[ "$got" = "$cur_md5" ] ||
		fail "md5 after overwrite: got $got, want $cur_md5; cmp: $(cmp /tmp/big.cur "$T/big" 2>&1 | head -2 | tr '\n' ' ')"
	expect "O_DIRECT read" "$(dd if="$T/big" bs=65536 count=1 skip=$((off / 65536)) iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)" \
		"$(dd if=/tmp/big.cur bs=65536 count=1 skip=$((off / 65536)) 2>/dev/null | md5sum | cut -d' ' -f1)"
	expect "size after overwrite" "$(stat -c %s "$T/big")" "$((size * 1048576 + 14))"
	done_

	begin small-files
	run mkdir "$T/many"
	t0=$(now)
	i=1
	while [ $i -le "$nfiles" ]; do
		echo "file $i" >"$T/many/f$i" || fail "create many/f$i"
		i=$((i + 1))
	done
	rate=$(awk -v n="$nfiles" -v a="$t0" -v b="$(now)" 'BEGIN { d = b - a; if (d <= 0) d = 0.01; printf "%.0f", n / d }')
	expect "ls many | wc -l" "$(ls "$T/many" | wc -l)" "$nfiles"
	drop_caches
	expect "ls many | wc -l after drop_caches" "$(ls "$T/many" | wc -l)" "$nfiles"
	expect "ls -l many | wc -l" "$(ls -l "$T/many" | grep -c '^-')" "$nfiles"
	expect "find many -type f" "$(find "$T/many" -type f | wc -l)" "$nfiles"
	expect "content of f$nfiles" "$(cat "$T/many/f$nfiles")" "file $nfiles"
	done_ "$rate files/s"

	begin rename
	run mv "$T/many/f1" "$T/a/b/c/moved"                 # across directories
	[ -e "$T/many/f1" ] && fail "many/f1 still exists after rename"
	expect "content of moved" "$(cat "$T/a/b/c/moved")" "file 1"
	run mv "$T/many/f2" "$T/many/f3"                     # over an existing file
	expect "content of f3" "$(cat "$T/many/f3")" "file 2"
	run mv "$T/a/b" "$T/a/bb"                            # a directory
	run mv "$T/a/bb" "$T/a/b"
	expect "files in many after renames" "$(ls "$T/many" | wc -l)" "$((nfiles - 2))"
	done_

	begin hardlink
	run ln "$T/a/b/c/moved" "$T/a/hl"
	expect "link count of hl" "$(stat -c %h "$T/a/hl")" "2"
	expect "link count of moved" "$(stat -c %h "$T/a/b/c/moved")" "2"
	expect "inode of hl" "$(stat -c %i "$T/a/hl")" "$(stat -c %i "$T/a/b/c/moved")"
	run ln "$T/many/f4" "$T/a/gone"
	run rm "$T/many/f4"
	expect "link count after unlink" "$(stat -c %h "$T/a/gone")" "1"
	expect "content after unlink" "$(cat "$T/a/gone")" "file 4"
	done_

	begin symlink
	run ln -s b/c/moved "$T/a/sl"
	expect "readlink sl" "$(readlink "$T/a/sl")" "b/c/moved"
	expect "cat through sl" "$(cat "$T/a/sl")" "file 1"
	run ln -s /no/such/target "$T/a/dangling"
	expect "readlink dangling" "$(readlink "$T/a/dangling")" "/no/such/target"
	expect "type of sl" "$(stat -c %F "$T/a/sl")" "symbolic link"
	done_

	begin truncate
	printf 'hello world' >"$T/tr" || fail "write tr"
	run truncate -s 5 "$T/tr"
	expect "size after truncate down" "$(stat -c %s "$T/tr")" "5"
	expect "content after truncate down" "$(cat "$T/tr")" "hello"
	run truncate -s 100000 "$T/tr"
	drop_caches
	expect "size after truncate up" "$(stat -c %s "$T/tr")" "100000"
	expect "non-zero bytes past 5" "$(tail -c +6 "$T/tr" | tr -d '\000' | wc -c)" "0"
	expect "head after truncate up" "$(head -c 5 "$T/tr")" "hello"
	run truncate -s 0 "$T/tr"
	expect "size after truncate to 0" "$(stat -c %s "$T/tr")" "0"
	done_

	begin append
	echo one >"$T/ap" || fail "write ap"
	echo two >>"$T/ap" || fail "append ap"
	echo three >>"$T/ap" || fail "append ap"
	drop_caches
	expect "lines of ap" "$(wc -l <"$T/ap" | tr -d ' ')" "3"
	expect "content of ap" "$(tr '\n' ' ' <"$T/ap")" "one two three "
	done_

	begin chmod
	run chmod 0640 "$T/ap"
	expect "mode of ap" "$(stat -c %a "$T/ap")" "640"
	done_

	begin misc
	(set -C && echo x >"$T/excl") 2>/dev/null || fail "exclusive create of excl"
	(set -C && echo y >"$T/excl") 2>/dev/null && fail "exclusive create of an existing file succeeded"
	expect "content of excl" "$(cat "$T/excl")" "x"
	expect "mode of excl" "$(stat -c %a "$T/excl")" "644"
	run mkfifo "$T/fifo"
	expect "type of fifo" "$(stat -c %F "$T/fifo")" "fifo"
	run touch -d "2001-02-03 04:05:06" "$T/ap"
	expect "mtime of ap" "$(stat -c %Y "$T/ap")" "981173106"
	run chown 1234:5678 "$T/excl"
	expect "owner of excl" "$(stat -c %u:%g "$T/excl")" "1234:5678"
	rmdir "$T/a" 2>/dev/null && fail "rmdir of a non-empty directory succeeded"
	expect "rmdir error" "$(rmdir "$T/a" 2>&1 | sed 's/.*: //')" "Directory not empty"
	ln "$T/a" "$T/a-link" 2>/dev/null && fail "hard link to a directory succeeded"
	mkdir "$T/a" 2>/dev/null && fail "mkdir of an existing name succeeded"
	expect "long name" "$(n=$(printf '%0255d' 7); echo z >"$T/$n" && ls "$T" | grep -c "^$n\$")" "1"
	(echo z >"$T/$(printf '%0256d' 7)") 2>/dev/null && fail "a 256-byte name was accepted"
	df -k "$M" | tail -1 | sed 's/^/MCFS-STEP: df: /'
	done_

	# 4.2 runs the very state code of 4.1 (sessions, reclaim): crashing
	# the gateway once more under it would only add a minute to make check.
	if [ "$vers" != 4.2 ]; then
		begin gateway-crash
		write_across "$T/crash" $(((size + 1) / 2)) crash-gateway
		expect "ls a after the crash" "$(ls "$T/a" | tr '\n' ' ')" "b dangling gone hl sl "
		expect "content of f$nfiles after the crash" "$(cat "$T/many/f$nfiles")" "file $nfiles"
		done_

		begin gateway-restart
		write_across "$T/term" $(((size + 1) / 2)) restart-gateway
		done_
	fi

	begin remount
	cd /
	run umount "$M"
	grep -q " $M " /proc/mounts && fail "still mounted after umount"
	do_mount
	done_

	begin verify-after-remount
	expect "md5 of big after remount" "$(md5 "$T/big")" "$cur_md5"
	expect "files in many" "$(ls "$T/many" | wc -l)" "$((nfiles - 3))"
	expect "content of gone" "$(cat "$T/a/gone")" "file 4"
	expect "link count of gone" "$(stat -c %h "$T/a/gone")" "1"
	expect "content of f$nfiles" "$(cat "$T/many/f$nfiles")" "file $nfiles"
	expect "link count of hl" "$(stat -c %h "$T/a/hl")" "2"
	expect "readlink sl" "$(readlink "$T/a/sl")" "b/c/moved"
	expect "size of tr" "$(stat -c %s "$T/tr")" "0"
	expect "content of ap" "$(tr '\n' ' ' <"$T/ap")" "one two three "
	expect "mode of ap" "$(stat -c %a "$T/ap")" "640"
	expect "mtime of ap" "$(stat -c %Y "$T/ap")" "981173106"
	expect "owner of excl" "$(stat -c %u:%g "$T/excl")" "1234:5678"
	expect "type of fifo" "$(stat -c %F "$T/fifo")" "fifo"
	if [ "$vers" != 4.2 ]; then
		half=$(dd if=/tmp/big.src bs=1M count=$(((size + 1) / 2)) 2>/dev/null | md5sum | cut -d' ' -f1)
		expect "md5 of crash" "$(md5 "$T/crash")" "$half"
		expect "md5 of term" "$(md5 "$T/term")" "$half"
	fi
	done_

	begin remove-tree
	run rm -rf "$T"
	[ -e "$T" ] && fail "$T still exists after rm -rf"
	done_

	begin umount
	run umount "$M"
	done_
	echo "MCFS-RESULT: vers=$vers PASS"
}

t_all=$(now)
for v in $(echo "$versions" | tr ',' ' '); do
	workload "$v"
done
vers=-
echo "MCFS-STEP: workload took $(since "$t_all") s (uptime $(now) s)"
finish "PASS"
