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
# Prints the path of the initramfs on the last line of stdout.
source "$(dirname "$0")/common.sh"

out=Guests/build/initramfs
image="$out/initramfs.cpio.gz"
if [ "${1:-}" != "--refresh" ] && [ -s "$image" ]; then
    echo "$repo_root/$image"
    exit 0
fi

ensure_packages busybox-static cpio
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "error: busybox-static did not install $busybox" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# The kernel's built-in initramfs already has /dev/console; add it too when we may.
if [ "$(id -u)" -eq 0 ]; then mknod -m 600 "$root/dev/console" c 5 1; fi
cat > "$root/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "Kite initramfs: user space is running"
/bin/busybox uname -sr
echo "Kite initramfs: powering off"
/bin/busybox poweroff -f
INIT
chmod 755 "$root/init"

mkdir -p "$out"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -9n > "$image.tmp"
mv "$image.tmp" "$image"
echo "$repo_root/$image"
