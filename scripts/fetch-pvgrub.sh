#!/usr/bin/env bash
# Fetches Debian's PV-GRUB (package grub-xen-host: a prebuilt 64-bit PV kernel image,
# /usr/lib/grub-xen/grub-x86_64-xen.bin, whose embedded config looks for /boot/grub/grub.cfg
# on the guest's Xen disks) with apt and extracts it to Guests/build/pvgrub/ (git-ignored).
# Idempotent: when the image is already there it only prints its path; `--refresh` fetches
# again.
#
# `--modules` also extracts the x86_64-xen GRUB modules from grub-xen-bin (same version) to
# Guests/build/pvgrub/x86_64-xen/, for building other PV-GRUB images with grub-mkimage.
#
# Prints the path of grub-x86_64-xen.bin on the last line of stdout.
source "$(dirname "$0")/common.sh"

out=Guests/build/pvgrub
image="$out/grub-x86_64-xen.bin"
refresh=0
want_modules=0
for arg in "$@"; do
    case "$arg" in
        --refresh) refresh=1 ;;
        --modules) want_modules=1 ;;
        *) echo "usage: $0 [--refresh] [--modules]" >&2; exit 2 ;;
    esac
done

if [ "$refresh" -eq 0 ] && [ -s "$image" ] && { [ "$want_modules" -eq 0 ] || [ -s "$out/x86_64-xen/moddep.lst" ]; }; then
    echo "$repo_root/$image"
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool not found; this script needs a Debian-based system with apt" >&2
        exit 1
    fi
done

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }'; }

version="$(candidate grub-xen-host || true)"
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    # The package lists may be missing or stale: refresh them once (needs root or sudo).
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "refreshing apt package lists" >&2
    $sudo apt-get update -qq
    version="$(candidate grub-xen-host || true)"
fi
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "error: apt knows no grub-xen-host; check the apt sources" >&2
    exit 1
fi
echo "PV-GRUB package: grub-xen-host ($version)" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt's download sandbox user must be able to write here.
chmod 0777 "$work"
packages=("grub-xen-host=$version")
# grub-xen-bin has the same source version as grub-xen-host (it depends on it exactly).
[ "$want_modules" -eq 1 ] && packages+=("grub-xen-bin=$version")
if ! (cd "$work" && apt-get download -q "${packages[@]}" >&2); then
    echo "error: cannot download ${packages[*]}" >&2
    exit 1
fi
for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
done

found="$work/root/usr/lib/grub-xen/grub-x86_64-xen.bin"
if [ ! -s "$found" ]; then
    echo "error: grub-xen-host has no /usr/lib/grub-xen/grub-x86_64-xen.bin" >&2
    exit 1
fi

mkdir -p "$out"
if [ "$want_modules" -eq 1 ]; then
    mods="$work/root/usr/lib/grub/x86_64-xen"
    [ -s "$mods/moddep.lst" ] || { echo "error: grub-xen-bin has no $mods" >&2; exit 1; }
    rm -rf "$out/x86_64-xen"
    cp -r "$mods" "$out/x86_64-xen"
fi
# Written last, via a temporary name, so an interrupted run never leaves a partial image.
cp "$found" "$image.tmp"
mv "$image.tmp" "$image"
echo "grub-xen-host $version grub-x86_64-xen.bin" > "$out/VERSION"
echo "$repo_root/$image"
