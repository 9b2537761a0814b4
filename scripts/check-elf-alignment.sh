#!/usr/bin/env bash
# Checks that shared libraries are 16 KB page aligned, as Android 15+ devices with 16 KB pages require (and Google
# Play requires for apps targeting Android 15+): every PT_LOAD segment of every given .so must have Align >= 0x4000.
#
# Usage: scripts/check-elf-alignment.sh LIB.so [LIB.so ...]
#        scripts/check-elf-alignment.sh --self-test    (links two tiny cdylibs with rustc, 4 KB and 16 KB, and
#                                                        checks that the first fails and the second passes)
# Reader: $READELF if set, else readelf (binutils), else llvm-readelf (the NDK ships one under
# toolchains/llvm/prebuilt/*/bin). Exit 0: all aligned; 1: some library is not (or is not ELF); 2: usage.
set -euo pipefail

readonly MIN_ALIGN=$((0x4000))

find_readelf() {
    if [[ -n ${READELF:-} ]]; then
        echo "$READELF"
    elif command -v readelf > /dev/null; then
        command -v readelf
    elif command -v llvm-readelf > /dev/null; then
        command -v llvm-readelf
    else
        echo "check-elf-alignment: no readelf: install binutils or set READELF (e.g. the NDK's llvm-readelf)" >&2
        exit 2
    fi
}

# Prints "ok" or "FAIL" lines; returns 1 when the library is not aligned or not readable as ELF.
check_one() {
    local readelf=$1 lib=$2 headers aligns align worst=""
    if ! headers=$("$readelf" -lW "$lib" 2>&1); then
        echo "FAIL $lib: $readelf could not read it: $(head -n 1 <<< "$headers")"
        return 1
    fi
    # With -W each segment is one line; the flags column may contain spaces ("R E"), Align is the last field.
    aligns=$(awk '$1 == "LOAD" { print $NF }' <<< "$headers")
    if [[ -z $aligns ]]; then
        echo "FAIL $lib: no LOAD segments (not a shared library?)"
        return 1
    fi
    local count=0
    for align in $aligns; do
        count=$((count + 1))
        if [[ ! $align =~ ^0x[0-9a-fA-F]+$ ]]; then
            echo "FAIL $lib: cannot parse LOAD alignment '$align'"
            return 1
        fi
        if (( align < MIN_ALIGN )) && [[ -z $worst || $((align)) -lt $((worst)) ]]; then
            worst=$align
        fi
    done
    if [[ -n $worst ]]; then
        echo "FAIL $lib: LOAD segment aligned to $worst (< 0x4000); link with -Wl,-z,max-page-size=16384 or NDK r28+"
        return 1
    fi
    echo "ok   $lib: $count LOAD segments, all aligned to >= 0x4000 ($(tr '\n' ' ' <<< "$aligns" | sed 's/ $//'))"
}

self_test() {
    command -v rustc > /dev/null || { echo "check-elf-alignment --self-test: rustc is required" >&2; exit 2; }
    self_test_dir=$(mktemp -d)
    trap 'rm -rf "$self_test_dir"' EXIT
    local dir=$self_test_dir
    echo '#[no_mangle] pub extern "C" fn footfall_align_probe() -> u32 { 16384 }' > "$dir/probe.rs"
    rustc --crate-type cdylib --crate-name small -C link-arg=-Wl,-z,max-page-size=4096 -o "$dir/libsmall.so" "$dir/probe.rs"
    rustc --crate-type cdylib --crate-name large -C link-arg=-Wl,-z,max-page-size=16384 -o "$dir/liblarge.so" "$dir/probe.rs"
    local out
    if out=$("$0" "$dir/libsmall.so"); then
        echo "check-elf-alignment --self-test: a 4 KB aligned library passed: $out" >&2
        exit 1
    fi
    echo "  as expected: $out"
    out=$("$0" "$dir/liblarge.so") || { echo "check-elf-alignment --self-test: a 16 KB aligned library failed: $out" >&2; exit 1; }
    echo "  as expected: $out"
    echo "check-elf-alignment --self-test: a 4 KB library is refused, a 16 KB one accepted"
}

if [[ $# -eq 0 ]]; then
    echo "usage: $0 LIB.so [LIB.so ...] | --self-test" >&2
    exit 2
fi
if [[ $1 == --self-test ]]; then
    self_test
    exit 0
fi

readelf=$(find_readelf)
status=0
for lib in "$@"; do
    if [[ ! -f $lib ]]; then
        echo "FAIL $lib: no such file"
        status=1
        continue
    fi
    check_one "$readelf" "$lib" || status=1
done
exit "$status"
