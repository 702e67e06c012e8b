# Shared helpers for Kite's scripts: find the toolchain, install missing Debian packages.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# The Swift toolchain ships clang, ld.lld and llvm-objcopy; prefer it on PATH.
for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -d "$dir" ] && PATH="$dir:$PATH"
done
export PATH

require_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "error: the Swift toolchain (6.1 or newer) is not on PATH; install it from swift.org" >&2
        exit 1
    fi
}

# Installs Debian packages that are missing (needs root or sudo; apt-get update once).
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing missing packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# C libraries the build links: the domain builder unpacks bzImage payloads with them;
# libslirp gives guests user-mode networking (NAT, DHCP, DNS) without root or TAP.
ensure_build_libraries() {
    ensure_packages liblzma-dev zlib1g-dev libzstd-dev libslirp-dev pkg-config
}
