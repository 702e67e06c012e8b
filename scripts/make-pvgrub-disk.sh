#!/usr/bin/env bash
# Builds a boot disk for Debian's PV-GRUB (scripts/fetch-pvgrub.sh): an ext2 image
# Guests/build/pvgrub/boot.img (git-ignored, 32 MiB, no partition table) holding
# /boot/vmlinuz (Debian's kernel, scripts/fetch-debian-kernel.sh), /boot/initrd.img (the
# busybox initramfs, scripts/make-initramfs.sh) and a /boot/grub/grub.cfg that boots them at
# once with console=hvc0. PV-GRUB's embedded config searches every Xen disk for
# /boot/grub/grub.cfg, so the image can be any of the guest's disks.
# Idempotent: rebuilt only when missing, or with `--refresh`.
#
#   bash scripts/fetch-pvgrub.sh && bash scripts/fetch-debian-kernel.sh && \
#       bash scripts/make-initramfs.sh && bash scripts/make-pvgrub-disk.sh
#   cp Guests/build/pvgrub/boot.img /tmp/boot.img
#   .build/release/kite run --kernel Guests/build/pvgrub/grub-x86_64-xen.bin --memory 256 \
#       --disk /tmp/boot.img,raw,xvda,rw
#
# `--devices` builds Guests/build/pvgrub/boot-devices.img instead, with the initramfs of
# `make-initramfs.sh --devices` (its /init writes to /dev/xvda and formats /dev/xvdb: give
# it copies).
#
# Prints the path of the image on the last line of stdout.
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

out=Guests/build/pvgrub
image="$out/boot.img"
initramfs=Guests/build/initramfs/initramfs.cpio.gz
if [ "$devices" -eq 1 ]; then
    image="$out/boot-devices.img"
    initramfs=Guests/build/initramfs/initramfs-devices.cpio.gz
fi
kernel=Guests/build/debian/vmlinuz

if [ "$refresh" -eq 0 ] && [ -s "$image" ]; then
    echo "$repo_root/$image"
    exit 0
fi

flag=""
[ "$devices" -eq 1 ] && flag=" --devices"
for f in "$kernel" "$initramfs"; do
    if [ ! -s "$f" ]; then
        echo "error: $f is missing; run scripts/fetch-debian-kernel.sh and" \
             "scripts/make-initramfs.sh$flag first" >&2
        exit 1
    fi
done
ensure_packages e2fsprogs
mke2fs=$(command -v mke2fs || echo /sbin/mke2fs)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/boot/grub" "$out"
cp "$kernel" "$root/boot/vmlinuz"
cp "$initramfs" "$root/boot/initrd.img"
# timeout=0: boot the entry at once (the menu would wait for a key on the console).
cat > "$root/boot/grub/grub.cfg" <<'EOF'
set timeout=0
set default=0
menuentry 'Debian GNU/Linux under Kite' {
    echo 'PV-GRUB: loading Linux'
    linux /boot/vmlinuz console=hvc0
    echo 'PV-GRUB: loading the initial ramdisk'
    initrd /boot/initrd.img
}
EOF
# ext2 from a directory (mke2fs -d, e2fsprogs 1.43+); GRUB's ext2 driver reads it.
"$mke2fs" -q -F -t ext2 -L kiteboot -d "$root" "$work/boot.img" 32M
# Moved into place last, so an interrupted run never leaves a partial image.
mv "$work/boot.img" "$image"
echo "$repo_root/$image"
