#!/usr/bin/env python3
"""Instructions per publisher message, from callgrind dumps of a relay server.

    callgrind-per-message.py LABEL FUNCTION DUMP...

FUNCTION is one the server calls once per message the publisher sends (ours:
`rtmp_proto::relay::frame::Frame::chunk`; nginx-rtmp: `ngx_rtmp_receive_message`, which also
sees the few control messages). Each dump's total instructions divided by its calls of
FUNCTION takes out how many messages a 2 s dump happened to hold (139 to 157 in the fan-out
bench), which moves the per-dump total by several percent. Prints the median and range over
the dumps, and how many there were.

When the dumps hold callgrind's cache simulation (`--cache-sim=yes`), a second line gives the
median per message of each miss count it took: last level (ILmr for code, DLmr and DLmw for data
read and written) and first level (I1mr, D1mr, D1mw).
"""
import sys


def totals(path, function):
    """The dump's totals by event (Ir first) and its calls of `function`."""
    events = ["Ir"]
    summary = None
    calls = 0
    callee = None
    for line in open(path, errors="replace"):
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            summary = dict(zip(events, (int(value) for value in line.split()[1:])))
        elif line.startswith("cfn="):
            callee = line[4:].strip()
        elif line.startswith("calls=") and callee is not None:
            # Compressed names ("(12) name" the first time, "(12)" after) are not expected:
            # fanout-callgrind.sh runs callgrind with --compress-strings=no.
            if callee == function or callee.endswith("::" + function):
                calls += int(line.split()[0][len("calls="):])
    return summary, calls


def median(values):
    values = sorted(values)
    return values[(len(values) - 1) // 2]


MISSES = ["ILmr", "DLmr", "DLmw", "I1mr", "D1mr", "D1mw"]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    label, function = sys.argv[1], sys.argv[2]
    per_message = []
    for path in sys.argv[3:]:
        summary, calls = totals(path, function)
        if summary is not None and "Ir" in summary and calls > 0:
            per_message.append({event: total / calls for event, total in summary.items()})
    if not per_message:
        print(f"{label}: no dump calls {function}")
        return
    instructions = sorted(message["Ir"] for message in per_message)
    print(
        f"{label}: {median(instructions):.0f} ({instructions[0]:.0f}-{instructions[-1]:.0f}), "
        f"{len(per_message)} dumps"
    )
    misses = [event for event in MISSES if all(event in message for message in per_message)]
    if misses:
        counts = ", ".join(
            f"{event} {median(message[event] for message in per_message):.0f}" for event in misses
        )
        print(f"{label} misses per message, median: {counts}")


main()
