#!/usr/bin/env python3
"""The code a server runs over and over, from callgrind dumps taken with --dump-instr=yes.

    callgrind-footprint.py [--summary LABEL] MIN_RUNS DUMP...

For each dump, counts the 64-byte lines of machine code (and the 4 KiB pages they lie on) in
which some instruction ran at least MIN_RUNS times. With MIN_RUNS about the number of
publisher messages a dump covers, that is the code each message runs through: what a server
that wakes for every message, with caches that other processes cooled meanwhile, fetches
again each time. Prints one line per dump (lines, pages, file name), or with --summary one
line for all: the median and range of each.
"""
import sys
from collections import defaultdict

from callgrind_dump import self_costs


def runs_per_line(path):
    """Most runs of any instruction, per 64-byte line of code, in one callgrind dump."""
    per_address = defaultdict(int)
    for _, address, count in self_costs(path):
        per_address[address] += count
    runs = defaultdict(int)
    for instruction, count in per_address.items():
        line = instruction // 64
        runs[line] = max(runs[line], count)
    return runs


def median_and_range(values):
    values = sorted(values)
    return f"{values[(len(values) - 1) // 2]} ({values[0]}-{values[-1]})"


def main():
    args = sys.argv[1:]
    label = None
    if args[:1] == ["--summary"] and len(args) > 1:
        label, args = args[1], args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    min_runs = int(args[0])
    counts = []
    for path in args[1:]:
        hot = [line for line, count in runs_per_line(path).items() if count >= min_runs]
        pages = {line * 64 // 4096 for line in hot}
        counts.append((len(hot), len(pages)))
        if label is None:
            print(len(hot), len(pages), path)
    if label is not None:
        lines = median_and_range([lines for lines, _ in counts])
        pages = median_and_range([pages for _, pages in counts])
        print(f"{label}: {lines} lines, {pages} pages, {len(counts)} dumps")


main()
