#!/usr/bin/env bash
# Builds every bare-metal guest under Guests/<name>/ (each directory with .c or .S files,
# except common/) into a flat image Guests/build/<name>.bin, linked at 0x100000 with
# Guests/common (start-up code, console, exit). Uses the Swift toolchain's clang and ld.lld.
source "$(dirname "$0")/common.sh"

for tool in clang ld.lld llvm-objcopy; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool not found; it ships with the Swift toolchain (put its usr/bin on PATH)" >&2
        exit 1
    fi
done

cflags=(-target x86_64-unknown-none -ffreestanding -mno-red-zone -mgeneral-regs-only
        -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables
        -O2 -g -nostdlib -std=c11 -Wall -Wextra -Werror -IGuests/common)
out=Guests/build
mkdir -p "$out/obj"

compile() {  # compile <source> <object>
    clang "${cflags[@]}" -c "$1" -o "$2"
}

common_objects=()
for src in Guests/common/*.c Guests/common/*.S; do
    [ -e "$src" ] || continue
    obj="$out/obj/common-$(basename "${src%.*}").o"
    compile "$src" "$obj"
    common_objects+=("$obj")
done

built=0
for dir in Guests/*/; do
    name="$(basename "$dir")"
    case "$name" in common|build) continue ;; esac
    objects=()
    for src in "$dir"*.c "$dir"*.S; do
        [ -e "$src" ] || continue
        obj="$out/obj/$name-$(basename "${src%.*}").o"
        compile "$src" "$obj"
        objects+=("$obj")
    done
    [ ${#objects[@]} -gt 0 ] || continue
    # start.o first in the link is not required: the linker script places .text.start first.
    ld.lld -T Guests/common/linker.ld --no-dynamic-linker -static -nostdlib \
        -o "$out/$name.elf" "${common_objects[@]}" "${objects[@]}"
    llvm-objcopy -O binary "$out/$name.elf" "$out/$name.bin"
    echo "built $out/$name.bin ($(wc -c < "$out/$name.bin") bytes)"
    built=$((built + 1))
done

if [ "$built" -eq 0 ]; then
    echo "error: no guests found under Guests/" >&2
    exit 1
fi
