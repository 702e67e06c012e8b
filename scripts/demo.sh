#!/usr/bin/env bash
# Kite's main job today: build the demo PV guest and boot it as a Xen domain on Kite's own
# x86-64 CPU (extra arguments go to `kite run`, e.g. --vcpus 2).
# Needs the Swift toolchain (its clang and ld.lld build the guest) and the compression
# libraries the domain builder links (installed on demand); no Xen, no KVM, no root.
source "$(dirname "$0")/common.sh"
require_swift
ensure_build_libraries

bash scripts/build-guests.sh
swift build -c release --product kite
echo "--- kite run (boots Guests/build/pv-demo.elf, a 64-bit PV Xen guest) ---" >&2
exec "$(swift build -c release --show-bin-path)/kite" run --kernel Guests/build/pv-demo.elf "$@"
