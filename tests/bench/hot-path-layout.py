#!/usr/bin/env python3
"""The linker script that lays the relay server's per-frame code out together, from callgrind
dumps of it taken with mangled names.

    FANOUT_CALLGRIND_KEEP=DIR FANOUT_CALLGRIND_ARGS=--demangle=no \\
        tests/bench/fanout-callgrind.sh 10 10 0
    tests/bench/hot-path-layout.py DIR/ours.*.* > rtmp-tokio/examples/server/hot-path.ld

A function is on the hot path when, in most of the dumps, some 64-byte line of its code ran at
least MIN_RUNS times (40 by default, `--min-runs N`: a dump covers about 140 publisher
messages, so that is code that most messages run through). The script names each such
function's section (`.text.<symbol>`, rustc puts every function in one of its own) without
the symbol's hash, which changes with the compiler, the dependencies and the generic
parameters: every instance of the function goes with it. A function renamed or removed since
matches nothing, and tests/tests/hot_path_layout.rs fails until the script is written again.
The hottest come first. The sections go into an
output section of their own, inserted before `.text`, so that the rest of the default layout
stays as it is (lld and GNU ld both take `INSERT`).
"""
import re
import sys
from collections import defaultdict

from callgrind_dump import self_costs

# Legacy Rust mangling ends a symbol with `17h` and a 16-digit hash, then `E`.
HASH = re.compile(r"17h[0-9a-f]{16}E$")


def costs(path, min_runs):
    """Instructions per function in one dump, and the functions with a hot line of code."""
    per_function = defaultdict(int)
    per_address = defaultdict(int)
    owner = {}
    for function, address, count in self_costs(path):
        per_function[function] += count
        per_address[address] += count
        owner[address] = function
    hot = {owner[address] for address, count in per_address.items() if count >= min_runs}
    return per_function, hot


def main():
    args = sys.argv[1:]
    min_runs = 40
    if args[:1] == ["--min-runs"] and len(args) > 1:
        min_runs, args = int(args[1]), args[2:]
    if not args:
        sys.exit(__doc__)
    total = defaultdict(int)
    hot_in = defaultdict(int)
    for path in args:
        per_function, hot_here = costs(path, min_runs)
        for function, count in per_function.items():
            total[function] += count
        for function in hot_here:
            hot_in[function] += 1
    # Hot in most dumps: not the start-up's (handshakes, connects), which the first dumps
    # hold. Only Rust functions (libc's are in another object), named as in the binary.
    rust = [f for f, dumps in hot_in.items() if 2 * dumps > len(args) and HASH.search(f)]
    if not rust:
        sys.exit("no mangled Rust function is hot: were the dumps taken with --demangle=no?")
    patterns = []
    for function in sorted(rust, key=lambda f: -total[f]):
        pattern = HASH.sub("17h" + "?" * 16 + "E", function)
        if pattern not in patterns:
            patterns.append(pattern)
    print("/* The relay server's per-frame code, laid out together: written by")
    print("   tests/bench/hot-path-layout.py from callgrind dumps of the fan-out bench. */")
    print("SECTIONS {")
    print("  .text.hot_path : {")
    for pattern in patterns:
        print(f"    *(.text.{pattern})")
    print("  }")
    print("} INSERT BEFORE .text;")


main()
