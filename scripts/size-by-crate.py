#!/usr/bin/env python3
"""Where the bytes of libfootfall_ffi go: code size per crate, from the symbol table of an unstripped library.

    cargo build --release -p footfall-ffi --lib [--no-default-features]
    python3 scripts/size-by-crate.py target/release/libfootfall_ffi.so [rows]

cargo-bloat does the same but refuses a library that is also a staticlib and an rlib (footfall-ffi is all three).
Build with the release profile: it keeps the symbol table (the mobile profile strips it) and makes the same code.
A generic function counts for the crate of the type it was instantiated for (`Vec<footfall_core::X>::push` is
footfall_core's) when the generic's crate is std's; `drop_in_place<T>` counts for T's crate. Symbols without a
Rust path are C (SQLite) or assembly (ring). Counts code (.text) only: read-only data, unwind tables and
relocations come on top, see `size -A` on the library.
"""
import collections
import re
import subprocess
import sys

STD = {"core", "alloc", "std", "compiler_builtins", "std_detect", "panic_unwind"}
PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)::")
IMPL = re.compile(r"^<(.+?) as (.+?)>::")


def first_crate(text):
    text = text.lstrip("<&*[( ")
    for prefix in ("mut ", "const ", "dyn ", "impl "):
        if text.startswith(prefix):
            text = text[len(prefix):].lstrip("<&*[( ")
    match = PATH.match(text)
    return match.group(1) if match else None


def crate_of(name):
    match = IMPL.match(name)
    if match:
        own, trait = first_crate(match.group(1)), first_crate(match.group(2))
        return trait if own in STD or own is None else own
    if name.startswith("core::ptr::drop_in_place<"):
        return first_crate(name[len("core::ptr::drop_in_place<"):]) or "core"
    crate = first_crate(name)
    generic = re.match(r"^[A-Za-z_][A-Za-z0-9_:]*<(.+)>::", name)
    if crate in STD and generic and (inner := first_crate(generic.group(1))) and inner not in STD:
        return inner
    return crate


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    listing = subprocess.run(["nm", "-S", "-C", "--defined-only", sys.argv[1]], capture_output=True, text=True, check=True)
    sizes = collections.Counter()
    for line in listing.stdout.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[2] not in ("t", "T", "w", "W"):
            continue
        name = parts[3]
        crate = crate_of(name)
        if crate is None:
            crate = "[C and assembly: SQLite and ring]" if re.match(r"^[A-Za-z_.$][A-Za-z0-9_.$]*$", name) else "[other]"
        sizes[crate] += int(parts[1], 16)
    total = sum(sizes.values())
    if total == 0:
        sys.exit(f"{sys.argv[1]}: no symbols (stripped?): build with the release profile")
    print(f"| crate | code bytes | share |\n|---|---:|---:|")
    shown = 0
    for crate, size in sizes.most_common(rows):
        print(f"| {crate} | {size:,} | {size / total:.1%} |".replace(",", " "))
        shown += size
    print(f"| the {len(sizes) - min(rows, len(sizes))} others | {total - shown:,} | {(total - shown) / total:.1%} |".replace(",", " "))
    print(f"| **code (.text symbols) in all** | {total:,} | |".replace(",", " "))


if __name__ == "__main__":
    main()
