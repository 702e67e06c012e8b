#!/usr/bin/env bash
# Fetches Debian's current 64-bit Linux kernel (package linux-image-amd64) with apt and
# extracts its bzImage to Guests/build/debian/vmlinuz (git-ignored). Idempotent: when the
# kernel is already there it only prints its path; `--refresh` fetches again.
#
# linux-image-amd64 is a metapackage: it depends on the versioned package that holds the
# kernel (linux-image-<abi>-amd64), so that dependency is resolved and downloaded.
#
# `--modules` also keeps the Xen PV front-end drivers Debian builds as modules
# (xen-blkfront, xen-netfront), ext4, and the modules they depend on, uncompressed (busybox insmod
# reads no .ko.xz), in Guests/build/debian/modules/ with a modules.order listing them in load
# order. They come from the same package and version as the kernel (VERSION), so their
# vermagic matches.
#
# Prints the path of the kernel on the last line of stdout.
source "$(dirname "$0")/common.sh"

out=Guests/build/debian
kernel="$out/vmlinuz"
modules_dir="$out/modules"
refresh=0
want_modules=0
for arg in "$@"; do
    case "$arg" in
        --refresh) refresh=1 ;;
        --modules) want_modules=1 ;;
        *) echo "usage: $0 [--refresh] [--modules]" >&2; exit 2 ;;
    esac
done
# The front ends a PV guest needs, and ext4 (Debian builds it as a module too; it asks the
# crypto API for crc32c, hence crc32c_generic) for a file
# system on a PV disk; each loads after its dependencies.
front_ends=(xen-blkfront xen-netfront crc32c_generic ext4)

have_modules() {
    [ -s "$modules_dir/modules.order" ] || return 1
    for m in "${front_ends[@]}"; do grep -qx "$m" "$modules_dir/modules.order" || return 1; done
}

if [ "$refresh" -eq 0 ] && [ -s "$kernel" ] && { [ "$want_modules" -eq 0 ] || have_modules; }; then
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

package=""
version=""
# A kernel is already here but its modules are wanted: take them from the very same package.
if [ "$refresh" -eq 0 ] && [ -s "$kernel" ] && [ -s "$out/VERSION" ]; then
    read -r package version _ < "$out/VERSION"
fi
[ -n "$package" ] || package="$(resolve_package || true)"
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
[ -n "$version" ] || version="$(apt-cache show "$package" 2>/dev/null | awk '/^Version:/ { print $2; exit }')"
echo "kernel package: $package ${version:+($version)}" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt's download sandbox user must be able to write here.
chmod 0777 "$work"
if ! (cd "$work" && apt-get download -q "$package${version:+=$version}" >&2); then
    echo "error: cannot download $package $version; run $0 --refresh --modules for the current kernel" >&2
    exit 1
fi
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

# The front-end modules and their dependencies (each module's own .modinfo "depends=";
# the package ships no modules.dep, depmod writes it at install), decompressed, in the
# order insmod must load them.
if [ "$want_modules" -eq 1 ]; then
    release="$(basename "$image" | sed 's/^vmlinuz-//')"
    moddir="$work/root/lib/modules/$release"
    [ -d "$moddir/kernel" ] || { echo "error: $package has no $moddir/kernel" >&2; exit 1; }
    rm -rf "$modules_dir.tmp"
    mkdir -p "$modules_dir.tmp"
    order=()
    mapfile -t all_modules < <(find "$moddir/kernel" -name '*.ko*')
    # Module names use "_" where file names may use "-".
    norm() { echo "${1//-/_}"; }
    add_module() {  # $1: module name; its dependencies first
        local name file dep deps
        name="$(norm "$1")"
        for seen in "${order[@]}"; do [ "$(norm "$seen")" = "$name" ] && return 0; done
        file=""
        for f in "${all_modules[@]}"; do
            b="$(basename "$f")"; b="${b%%.ko*}"
            if [ "$(norm "$b")" = "$name" ]; then file="$f"; break; fi
        done
        if [ -z "$file" ]; then
            # Built into this kernel: nothing to load.
            grep -q "/${1}.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
            echo "error: $package has no module $1" >&2
            exit 1
        fi
        local base; base="$(basename "$file")"; base="${base%%.ko*}"
        case "$file" in
            *.ko.xz) xz -dc "$file" > "$modules_dir.tmp/$base.ko" ;;
            *.ko.zst) zstd -qdc "$file" > "$modules_dir.tmp/$base.ko" ;;
            *.ko.gz) gzip -dc "$file" > "$modules_dir.tmp/$base.ko" ;;
            *) cp "$file" "$modules_dir.tmp/$base.ko" ;;
        esac
        deps="$(tr '\0' '\n' < "$modules_dir.tmp/$base.ko" | sed -n 's/^depends=//p' | head -n 1)"
        for dep in ${deps//,/ }; do add_module "$dep"; done
        order+=("$base")
    }
    for m in "${front_ends[@]}"; do add_module "$m"; done
    printf '%s\n' "${order[@]}" > "$modules_dir.tmp/modules.order"
    echo "$release" > "$modules_dir.tmp/RELEASE"
    rm -rf "$modules_dir"
    mv "$modules_dir.tmp" "$modules_dir"
    echo "modules: ${order[*]} ($release)" >&2
fi

cp "$image" "$out/$(basename "$image")"
# Written last, via a temporary name, so an interrupted run never leaves a partial vmlinuz.
cp "$image" "$kernel.tmp"
mv "$kernel.tmp" "$kernel"
printf '%s %s %s\n' "$package" "${version:-unknown}" "$(basename "$image")" > "$out/VERSION"
echo "$repo_root/$kernel"
