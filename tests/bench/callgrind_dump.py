"""Reading callgrind dumps taken with --dump-instr=yes, for the scripts beside this one."""


def self_costs(path):
    """Yields (function, instruction address, instructions executed) for each self-cost line of
    the dump at `path`: the inclusive costs that follow a `calls=` line are left out."""
    positions = 1
    address = 0
    function = ""
    after_call = False
    for raw in open(path, errors="replace"):
        if raw.startswith("positions:"):
            positions = len(raw.split()) - 1
            continue
        if raw.startswith("fn="):
            function = raw[3:].strip()
            continue
        if raw.startswith("calls="):
            # The next cost line is the call's inclusive cost, at the call instruction.
            after_call = True
            continue
        first = raw[:1]
        if not (first.isdigit() or first in "+-*"):
            continue
        fields = raw.split()
        position = fields[0]
        # Addresses are absolute ("0x4a10"), relative to the last one ("+3", "-0x10"), or
        # the same again ("*").
        if position[0] == "+":
            address += int(position[1:], 0)
        elif position[0] == "-":
            address -= int(position[1:], 0)
        elif position != "*":
            address = int(position, 0)
        if after_call:
            after_call = False
            continue
        if len(fields) <= positions:
            continue
        yield function, address, int(fields[positions])
