#!/usr/bin/env bash
# Builds every bare-metal guest under Guests/<name>/ (each directory with .c or .S files,
# except common/, build/ and pv/) into a flat image Guests/build/<name>.bin, linked at
# 0x100000 with Guests/common (start-up code, console, exit).
# Then builds the PV64 test kernels (Guests/pv/README.md): every Guests/pv/tests/<name>.c
# or Guests/pv/tests/<name>/ becomes Guests/build/pv/<name>.elf, an ELF64 Xen PV kernel
# linked with Guests/pv/common. Uses the Swift toolchain's clang and ld.lld.
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
    case "$name" in common|build|pv) continue ;; esac
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

# ---- PV64 test kernels ----
pv_cflags=(-target x86_64-unknown-none -ffreestanding -mno-red-zone -mgeneral-regs-only
           -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables
           -O2 -g -nostdlib -std=gnu11 -Wall -Wextra -Werror -IGuests/pv/common)
pv_out=$out/pv
mkdir -p "$pv_out/obj"

pv_compile() {  # pv_compile <source> <object>
    clang "${pv_cflags[@]}" -c "$1" -o "$2"
}

pv_common_objects=()
for src in Guests/pv/common/*.c Guests/pv/common/*.S; do
    [ -e "$src" ] || continue
    obj="$pv_out/obj/common-$(basename "${src%.*}").o"
    pv_compile "$src" "$obj"
    pv_common_objects+=("$obj")
done

pv_link() {  # pv_link <name> <objects...>
    local name="$1"
    shift
    ld.lld -T Guests/pv/common/link.ld --no-dynamic-linker -static -nostdlib \
        -z noexecstack -o "$pv_out/$name.elf" "${pv_common_objects[@]}" "$@"
    echo "built $pv_out/$name.elf ($(wc -c < "$pv_out/$name.elf") bytes)"
    built=$((built + 1))
}

for src in Guests/pv/tests/*.c; do
    [ -e "$src" ] || continue
    name="$(basename "${src%.c}")"
    obj="$pv_out/obj/test-$name.o"
    pv_compile "$src" "$obj"
    pv_link "$name" "$obj"
done
for dir in Guests/pv/tests/*/; do
    [ -d "$dir" ] || continue
    name="$(basename "$dir")"
    objects=()
    for src in "$dir"*.c "$dir"*.S; do
        [ -e "$src" ] || continue
        obj="$pv_out/obj/test-$name-$(basename "${src%.*}").o"
        pv_compile "$src" "$obj"
        objects+=("$obj")
    done
    [ ${#objects[@]} -gt 0 ] || continue
    pv_link "$name" "${objects[@]}"
done

if [ "$built" -eq 0 ]; then
    echo "error: no guests found under Guests/" >&2
    exit 1
fi

# The demo guest of the README's quick start (not a test): Guests/build/pv-demo.elf.
pv_compile Guests/pv/demo/demo.c "$pv_out/obj/demo.o"
ld.lld -T Guests/pv/common/link.ld --no-dynamic-linker -static -nostdlib \
    -z noexecstack -o "$out/pv-demo.elf" "${pv_common_objects[@]}" "$pv_out/obj/demo.o"
echo "built $out/pv-demo.elf ($(wc -c < "$out/pv-demo.elf") bytes)"
