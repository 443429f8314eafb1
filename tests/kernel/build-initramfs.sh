#!/bin/sh
# Builds (once, then reuses) what the kernel-client test boots under qemu:
# a Debian kernel taken from its .deb (extracted with dpkg-deb -x, never
# installed as the host's kernel) and a small initramfs with busybox, the
# kernel's NFS and NIC modules, tests/kernel/nfsmount (static) and
# tests/kernel/init.sh as /init. Installs qemu-system-x86 with apt-get when
# qemu-system-x86_64 is missing.
#
# Usage: build-initramfs.sh [CACHE_DIR]
#   CACHE_DIR defaults to $MCFS_KERNEL_CACHE, else
#   $MCFS_TOP_BUILDDIR/tests/kernel/cache.
#   MCFS_KERNEL_PACKAGE picks the kernel package (default: what
#   linux-image-amd64 depends on, remembered in the cache).
# On success prints two lines, "KERNEL=<path>" and "INITRD=<path>".
# Exit status: 0 ok, 77 when this machine cannot get the pieces (no qemu and
# apt-get cannot install it, packages cannot be downloaded), 1 otherwise.
set -eu
srcdir=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${MCFS_KERNEL_CACHE:-${MCFS_TOP_BUILDDIR:-$PWD}/tests/kernel/cache}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

say() { echo "build-initramfs: $*" >&2; }
skip() {
	say "SKIP: $*"
	exit 77
}
die() {
	say "ERROR: $*"
	exit 1
}

# One builder at a time per cache directory.
if command -v flock >/dev/null 2>&1 && [ -z "${MCFS_KERNEL_CACHE_LOCKED:-}" ]; then
	export MCFS_KERNEL_CACHE_LOCKED=1
	exec flock "$cache/.lock" sh "$0" "$cache"
fi

apt_updated=no
apt_update() {
	if [ "$apt_updated" = no ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
		apt_updated=yes
	fi
}

# ---------------------------------------------------------------- qemu
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || skip "qemu-system-x86_64 is missing and only root may install it"
	command -v apt-get >/dev/null 2>&1 || skip "qemu-system-x86_64 is missing and there is no apt-get"
	say "installing qemu-system-x86 (apt-get)"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		qemu-system-x86 >&2; then
		apt_update || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			qemu-system-x86 >&2 || skip "cannot install qemu-system-x86"
	fi
	command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86 installed no qemu-system-x86_64"
fi

# ---------------------------------------------------------------- .debs
# Downloads one package's .deb into $cache/deb (once) and prints its path.
fetch_deb() {
	pkg=$1
	mkdir -p "$cache/deb"
	found=$(ls "$cache/deb/${pkg}_"*.deb 2>/dev/null | head -1 || true)
	if [ -z "$found" ]; then
		command -v apt-get >/dev/null 2>&1 || return 1
		say "downloading $pkg"
		(cd "$cache/deb" && apt-get download "$pkg" >&2 2>/dev/null) ||
			{ apt_update && (cd "$cache/deb" && apt-get download "$pkg" >&2); } || return 1
		found=$(ls "$cache/deb/${pkg}_"*.deb 2>/dev/null | head -1 || true)
	fi
	[ -n "$found" ] || return 1
	echo "$found"
}

# The kernel package: remembered so that later runs need no apt at all.
kpkg=${MCFS_KERNEL_PACKAGE:-}
if [ -z "$kpkg" ] && [ -s "$cache/kernel.package" ]; then
	kpkg=$(cat "$cache/kernel.package")
fi
if [ -z "$kpkg" ]; then
	command -v apt-cache >/dev/null 2>&1 || skip "no apt-cache to find the kernel package"
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
	if [ -z "$kpkg" ]; then
		apt_update || true
		kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
	fi
	[ -n "$kpkg" ] || skip "cannot tell which package linux-image-amd64 stands for"
fi
kver=${kpkg#linux-image-}

bbdir="$cache/busybox-static"
if [ ! -f "$bbdir/.done" ]; then
	deb=$(fetch_deb busybox-static) || skip "cannot download busybox-static"
	rm -rf "$bbdir"
	mkdir -p "$bbdir"
	dpkg-deb -x "$deb" "$bbdir" || die "dpkg-deb -x $deb"
	[ -x "$bbdir/bin/busybox" ] || die "no bin/busybox in $deb"
	touch "$bbdir/.done"
fi
busybox="$bbdir/bin/busybox"

# The modules the guest loads; modules.dep adds what they need.
want_mods="virtio_pci virtio_net e1000 sunrpc grace lockd nfs_acl nfs nfsv3 nfsv4 dns_resolver"

# The kernel and the modules wanted (with their dependencies) are kept in
# $kdir; the full package tree (400 MB) only exists while this runs.
kdir="$cache/$kpkg"
kernel="$kdir/vmlinuz-$kver"
moddir="$kdir/modules/$kver"
if [ ! -f "$kdir/.done" ] || [ "$(cat "$kdir/.done")" != "$want_mods" ]; then
	deb=$(fetch_deb "$kpkg") || skip "cannot download $kpkg"
	say "extracting $(basename "$deb")"
	full="$cache/$kpkg.full"
	rm -rf "$kdir" "$full"
	mkdir -p "$full" "$moddir"
	dpkg-deb -x "$deb" "$full" || die "dpkg-deb -x $deb"
	[ -f "$full/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $deb"
	[ -d "$full/lib/modules/$kver" ] || die "no lib/modules/$kver in $deb"
	# Debian's kernel packages ship no modules.dep (depmod runs when the
	# package is installed): busybox's depmod makes one, in the cache only.
	"$busybox" depmod -b "$full" "$kver" || die "depmod failed"
	fmod="$full/lib/modules/$kver"
	mods=""
	for m in $want_mods; do
		line=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$fmod/modules.dep" | head -1 || true)
		if [ -z "$line" ]; then
			grep -qE "(^|/)$m\.ko" "$fmod/modules.builtin" 2>/dev/null && continue # built in
			die "module $m is neither in modules.dep nor built in"
		fi
		mods="$mods $(echo "$line" | tr -d ':')"
	done
	for f in $(echo "$mods" | tr ' ' '\n' | sort -u); do
		mkdir -p "$moddir/$(dirname "$f")"
		case "$f" in
		*.ko.xz) xz -dc "$fmod/$f" >"$moddir/${f%.xz}" ;;
		*.ko.zst) zstd -qdc "$fmod/$f" >"$moddir/${f%.zst}" ;;
		*.ko.gz) gzip -dc "$fmod/$f" >"$moddir/${f%.gz}" ;;
		*) cp "$fmod/$f" "$moddir/$f" ;;
		esac
	done
	cp "$fmod/modules.builtin" "$fmod/modules.order" "$moddir/" 2>/dev/null || true
	cp "$full/boot/vmlinuz-$kver" "$kernel"
	cp "$full/boot/config-$kver" "$kdir/" 2>/dev/null || true
	rm -rf "$full"
	echo "$want_mods" >"$kdir/.done"
fi
echo "$kpkg" >"$cache/kernel.package"

# ---------------------------------------------------------------- initramfs
# Rebuilt when init.sh, nfsmount.c, this script or the kernel change.
key=$(cat "$srcdir/init.sh" "$srcdir/nfsmount.c" "$0" | md5sum | cut -d' ' -f1)
key="$key-$kpkg-$(echo "$want_mods" | md5sum | cut -c1-8)"
initrd="$cache/initramfs-$kver.cpio.gz"
if [ -f "$initrd" ] && [ "$(cat "$initrd.key" 2>/dev/null)" = "$key" ]; then
	echo "KERNEL=$kernel"
	echo "INITRD=$initrd"
	exit 0
fi

say "building $initrd"
command -v gcc >/dev/null 2>&1 || die "gcc is missing"
stage="$cache/stage"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" \
	"$stage/mnt" "$stage/lib/modules/$kver"
cp "$busybox" "$stage/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
done
ln -s ../bin/busybox "$stage/sbin/modprobe" # the kernel's request_module() runs it
gcc -static -Os -Wall -Wextra -o "$stage/bin/nfsmount" "$srcdir/nfsmount.c" ||
	die "cannot build nfsmount.c with gcc -static (is libc6-dev installed?)"
cp "$srcdir/init.sh" "$stage/init"
chmod 755 "$stage/init"
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$stage/dev/console" c 5 1
	mknod -m 666 "$stage/dev/null" c 1 3
fi

# The modules kept in the cache, with a modules.dep for busybox's modprobe.
cp -R "$moddir/." "$stage/lib/modules/$kver/"
"$busybox" depmod -b "$stage" "$kver" || die "depmod of the initramfs failed"
nmods=$(find "$stage/lib/modules" -name '*.ko' | wc -l)

(cd "$stage" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -6 >"$initrd.tmp" ||
	die "cpio failed"
mv "$initrd.tmp" "$initrd"
echo "$key" >"$initrd.key"
rm -rf "$stage"
say "initramfs: $(du -k "$initrd" | cut -f1) KiB, $nmods modules, kernel $kver"
echo "KERNEL=$kernel"
echo "INITRD=$initrd"
