#!/usr/bin/env bash
# Kite's main job today: build the demo guest and run it on Kite's own x86-64 CPU.
# Needs only the Swift toolchain (its clang, ld.lld and llvm-objcopy build the guest);
# no Debian packages beyond it, no Xen, no KVM, no root.
source "$(dirname "$0")/common.sh"
require_swift
ensure_build_libraries

bash scripts/build-guests.sh
swift build -c release --product kite
echo "--- kite run (Guests/build/demo.bin) ---" >&2
exec "$(swift build -c release --show-bin-path)/kite" run --image Guests/build/demo.bin "$@"
