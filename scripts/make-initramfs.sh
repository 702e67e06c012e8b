#!/usr/bin/env bash
# Builds a tiny initramfs for booting Linux under Kite to user space:
# Guests/build/initramfs/initramfs.cpio.gz (git-ignored) holds Debian's statically linked
# busybox and an /init shell script that prints a line, shows the kernel and powers off.
# Idempotent: rebuilt only when missing, or with `--refresh`.
#
#   bash scripts/fetch-debian-kernel.sh && bash scripts/make-initramfs.sh
#   .build/release/kite run --kernel Guests/build/debian/vmlinuz --memory 256 \
#       --ramdisk Guests/build/initramfs/initramfs.cpio.gz --cmdline "console=hvc0"
#
# `--devices` builds Guests/build/initramfs/initramfs-devices.cpio.gz instead: it also holds
# Debian's xen-blkfront and xen-netfront modules (scripts/fetch-debian-kernel.sh --modules),
# and its /init loads them, then exercises what it finds (see the /init below):
#   - /dev/xvda: prints its first 32 bytes (a marker the host wrote), writes 1 MiB of a
#     known pattern at 1 MiB with O_DIRECT, reads it back with O_DIRECT, compares checksums;
#   - /dev/xvdb (optional): makes an ext2 file system (mounted with Debian's ext4 module),
#     writes a file, mounts it again read-only and prints the file;
#   - eth0: DHCP with udhcpc, then pings the gateway 10.0.2.2 (user-mode networking).
# Every result is a line starting "Kite initramfs:"; then it powers off.
#
#   bash scripts/fetch-debian-kernel.sh --modules && bash scripts/make-initramfs.sh --devices
#   truncate -s 16M /tmp/disk.img
#   .build/release/kite run --kernel Guests/build/debian/vmlinuz --memory 256 \
#       --ramdisk Guests/build/initramfs/initramfs-devices.cpio.gz --cmdline "console=hvc0" \
#       --disk /tmp/disk.img,raw,xvda,rw --vif bridge=slirp
#
# Prints the path of the initramfs on the last line of stdout.
source "$(dirname "$0")/common.sh"

refresh=0
devices=0
for arg in "$@"; do
    case "$arg" in
        --refresh) refresh=1 ;;
        --devices) devices=1 ;;
        *) echo "usage: $0 [--refresh] [--devices]" >&2; exit 2 ;;
    esac
done

out=Guests/build/initramfs
image="$out/initramfs.cpio.gz"
[ "$devices" -eq 1 ] && image="$out/initramfs-devices.cpio.gz"
if [ "$refresh" -eq 0 ] && [ -s "$image" ]; then
    echo "$repo_root/$image"
    exit 0
fi

ensure_packages busybox-static cpio
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "error: busybox-static did not install $busybox" >&2; exit 1; }
modules=Guests/build/debian/modules
if [ "$devices" -eq 1 ]; then
    bash scripts/fetch-debian-kernel.sh --modules >/dev/null
    [ -s "$modules/modules.order" ] || { echo "error: no $modules/modules.order" >&2; exit 1; }
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# The kernel's built-in initramfs already has /dev/console; add it too when we may.
if [ "$(id -u)" -eq 0 ]; then mknod -m 600 "$root/dev/console" c 5 1; fi
if [ "$devices" -eq 0 ]; then
cat > "$root/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "Kite initramfs: user space is running"
/bin/busybox uname -sr
echo "Kite initramfs: powering off"
/bin/busybox poweroff -f
INIT
else
mkdir -p "$root/lib/modules" "$root/tmp" "$root/etc/udhcpc"
cp "$modules"/*.ko "$modules/modules.order" "$root/lib/modules/"
# udhcpc only reports the lease; this script (given with -s) applies it.
cat > "$root/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
    deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
    bound|renew)
        ip addr add "$ip/${mask:-24}" dev "$interface"
        for r in $router; do ip route add default via "$r" dev "$interface"; break; done
        echo "Kite initramfs: $interface has $ip/${mask:-24}, router $router" ;;
esac
exit 0
DHCP
chmod 755 "$root/etc/udhcpc/default.script"
cat > "$root/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "Kite initramfs: user space is running"
uname -sr
for m in $(cat /lib/modules/modules.order); do
    if insmod "/lib/modules/$m.ko"; then echo "Kite initramfs: loaded $m"; else echo "Kite initramfs: insmod $m failed"; fi
done
# Wait up to 10 s for the front ends to connect.
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ -b /dev/xvda ]; then
    echo "Kite initramfs: /dev/xvda has $(cat /sys/block/xvda/size) sectors"
    echo "Kite initramfs: xvda starts with \"$(dd if=/dev/xvda bs=32 count=1 2>/dev/null | tr -dc 'A-Za-z0-9 :_-')\""
    yes "Kite wrote this line through xen-blkfront." | head -c 1048576 > /tmp/pattern
    want=$(md5sum < /tmp/pattern)
    dd if=/tmp/pattern of=/dev/xvda bs=65536 seek=16 oflag=direct conv=fsync 2>/dev/null
    sync
    echo 3 > /proc/sys/vm/drop_caches
    got=$(dd if=/dev/xvda bs=65536 skip=16 count=16 iflag=direct 2>/dev/null | md5sum)
    if [ "$want" = "$got" ]; then
        echo "Kite initramfs: disk round trip ok ${want%% *}"
    else
        echo "Kite initramfs: disk round trip FAILED wrote ${want%% *} read ${got%% *}"
    fi
else
    echo "Kite initramfs: no /dev/xvda"
fi
# A second disk gets a file system: made, mounted, written, remounted, read.
if [ -b /dev/xvdb ]; then
    mkdir -p /mnt
    if mke2fs -q /dev/xvdb && mount -t ext4 /dev/xvdb /mnt; then
        echo "Kite wrote this file on ext4 over xen-blkfront." > /mnt/hello.txt
        umount /mnt
        mount -t ext4 -o ro /dev/xvdb /mnt
        echo "Kite initramfs: xvdb file system says \"$(cat /mnt/hello.txt)\""
        umount /mnt
    else
        echo "Kite initramfs: xvdb file system FAILED"
    fi
fi
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ -e /sys/class/net/eth0 ]; then
    ip link set lo up
    ip link set eth0 up
    echo "Kite initramfs: eth0 is $(cat /sys/class/net/eth0/address)"
    if udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc/default.script 2>&1; then
        if ping -c 2 -W 5 10.0.2.2; then
            echo "Kite initramfs: ping 10.0.2.2 ok"
        else
            echo "Kite initramfs: ping 10.0.2.2 FAILED"
            ip addr show eth0
            ip route
            cat /proc/net/dev
        fi
    else
        echo "Kite initramfs: DHCP on eth0 FAILED"
    fi
else
    echo "Kite initramfs: no eth0"
fi
echo "Kite initramfs: powering off"
poweroff -f
INIT
fi
chmod 755 "$root/init"

mkdir -p "$out"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -9n > "$image.tmp"
mv "$image.tmp" "$image"
echo "$repo_root/$image"
