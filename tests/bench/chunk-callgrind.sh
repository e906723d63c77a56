#!/usr/bin/env bash
# Instructions per payload byte of the chunk layer, rtmp-proto against rml_rtmp 0.8 and a memcpy,
# counted by callgrind over the stream of tests/benches/chunk.rs (64 MiB of payload).
#
#   tests/bench/chunk-callgrind.sh                      # every case at chunk sizes 128 and 4096
#   tests/bench/chunk-callgrind.sh decode proto 4096    # one case
#
# Every case of the bench binary first generates the stream and encodes it (the setup); the
# `setup` case does only that, and its count is subtracted from each case's at the same size.
# Set CARGO_TARGET_DIR as for cargo; callgrind outputs are kept in $OUT (default a temp dir).
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

bench=$(cargo bench -p rtmp-tests --bench chunk --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -n 1)
[ -x "$bench" ] || { echo "bench binary not found" >&2; exit 1; }
out=${OUT:-$(mktemp -d)}

# Prints the instruction count of one run of the bench binary with the given case.
count() {
    local file="$out/$1-$2-$3.callgrind"
    valgrind --tool=callgrind --callgrind-out-file="$file" "$bench" case "$@" \
        > "$out/$1-$2-$3.stdout" 2> "$out/$1-$2-$3.stderr"
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$file"
}

payload_of() {
    sed -n 's/^payload_bytes \([0-9]*\)/\1/p' "$out/$1-$2-$3.stdout"
}

if [ $# -eq 3 ]; then
    cases=("$1 $2 $3")
else
    cases=()
    for size in 128 4096; do
        for c in "decode proto" "decode proto-bytes" "decode rml" "encode proto" "encode rml" "memcpy -"; do
            cases+=("$c $size")
        done
    done
fi

declare -A baseline
printf '%-8s %-12s %6s %16s %14s\n' direction library size instructions per-byte
for c in "${cases[@]}"; do
    read -r what library size <<< "$c"
    if [ -z "${baseline[$size]:-}" ]; then
        baseline[$size]=$(count setup - "$size")
    fi
    total=$(count "$what" "$library" "$size")
    payload=$(payload_of "$what" "$library" "$size")
    awk -v w="$what" -v l="$library" -v s="$size" -v t="$total" -v b="${baseline[$size]}" -v p="$payload" \
        'BEGIN { printf "%-8s %-12s %6s %16d %14.3f\n", w, l, s, t - b, (t - b) / p }'
done
echo "(callgrind outputs in $out; setup counts: $(for s in "${!baseline[@]}"; do printf '%s=%s ' "$s" "${baseline[$s]}"; done))"
