#!/usr/bin/env python3
"""Instructions per publisher message, from callgrind dumps of a relay server.

    callgrind-per-message.py LABEL FUNCTION DUMP...

FUNCTION is one the server calls once per message the publisher sends (ours:
`rtmp_proto::relay::frame::Frame::chunk`; nginx-rtmp: `ngx_rtmp_receive_message`, which also
sees the few control messages). Each dump's total instructions divided by its calls of
FUNCTION takes out how many messages a 2 s dump happened to hold (139 to 157 in the fan-out
bench), which moves the per-dump total by several percent. Prints the median and range over
the dumps, and how many there were.
"""
import sys


def totals(path, function):
    """The dump's total instructions and its calls of `function`."""
    instructions = None
    calls = 0
    callee = None
    for line in open(path, errors="replace"):
        if line.startswith("summary:"):
            instructions = int(line.split()[1])
        elif line.startswith("cfn="):
            callee = line[4:].strip()
        elif line.startswith("calls=") and callee is not None:
            # Compressed names ("(12) name" the first time, "(12)" after) are not expected:
            # fanout-callgrind.sh runs callgrind with --compress-strings=no.
            if callee == function or callee.endswith("::" + function):
                calls += int(line.split()[0][len("calls="):])
    return instructions, calls


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    label, function = sys.argv[1], sys.argv[2]
    per_message = []
    for path in sys.argv[3:]:
        instructions, calls = totals(path, function)
        if instructions is not None and calls > 0:
            per_message.append(instructions / calls)
    if not per_message:
        print(f"{label}: no dump calls {function}")
        return
    per_message.sort()
    median = per_message[(len(per_message) - 1) // 2]
    print(
        f"{label}: {median:.0f} ({per_message[0]:.0f}-{per_message[-1]:.0f}), "
        f"{len(per_message)} dumps"
    )


main()
