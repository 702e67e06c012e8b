#!/usr/bin/env bash
# Fetches Debian's current 64-bit Linux kernel (package linux-image-amd64) with apt and
# extracts its bzImage to Guests/build/debian/vmlinuz (git-ignored). Idempotent: when the
# kernel is already there it only prints its path; `--refresh` fetches again.
#
# linux-image-amd64 is a metapackage: it depends on the versioned package that holds the
# kernel (linux-image-<abi>-amd64), so that dependency is resolved and downloaded.
#
# Prints the path of the kernel on the last line of stdout.
source "$(dirname "$0")/common.sh"

out=Guests/build/debian
kernel="$out/vmlinuz"
refresh=0
[ "${1:-}" = "--refresh" ] && refresh=1

if [ "$refresh" -eq 0 ] && [ -s "$kernel" ]; then
    echo "$repo_root/$kernel"
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool not found; this script needs a Debian-based system with apt" >&2
        exit 1
    fi
done

# The versioned kernel package the metapackage depends on, e.g. linux-image-6.1.0-37-amd64.
resolve_package() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}

package="$(resolve_package || true)"
if [ -z "$package" ]; then
    # The package lists may be missing or stale: refresh them once (needs root or sudo).
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "refreshing apt package lists" >&2
    $sudo apt-get update -qq
    package="$(resolve_package || true)"
fi
if [ -z "$package" ]; then
    echo "error: cannot resolve the kernel package behind linux-image-amd64 (apt-cache depends" \
         "linux-image-amd64 shows none); check the apt sources" >&2
    exit 1
fi
version="$(apt-cache show "$package" 2>/dev/null | awk '/^Version:/ { print $2; exit }')"
echo "kernel package: $package ${version:+($version)}" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt's download sandbox user must be able to write here.
chmod 0777 "$work"
(cd "$work" && apt-get download -q "$package" >&2)
deb="$(find "$work" -maxdepth 1 -name '*.deb' | head -n 1)"
if [ -z "$deb" ]; then
    echo "error: apt-get download $package produced no .deb" >&2
    exit 1
fi

dpkg-deb -x "$deb" "$work/root"
image="$(find "$work/root/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)"
if [ -z "$image" ]; then
    echo "error: $package has no /boot/vmlinuz-*" >&2
    exit 1
fi

mkdir -p "$out"
cp "$image" "$out/$(basename "$image")"
# Written last, via a temporary name, so an interrupted run never leaves a partial vmlinuz.
cp "$image" "$kernel.tmp"
mv "$kernel.tmp" "$kernel"
printf '%s %s %s\n' "$package" "${version:-unknown}" "$(basename "$image")" > "$out/VERSION"
echo "$repo_root/$kernel"
