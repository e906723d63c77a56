#!/usr/bin/env bash
# Runs every cargo-fuzz target in this directory for a short, fixed time (CI) or a longer one (by
# hand), starting from the committed corpus, and fails on the first crash, leak or timeout.
#
#   rtmp-proto/fuzz/run.sh                 # every target, FUZZ_SECS (default 15) each
#   FUZZ_SECS=600 rtmp-proto/fuzz/run.sh chunk server
#
# New inputs found go to a scratch directory, never into corpus/: to grow the committed corpus,
# merge and minimise by hand (`cargo fuzz cmin`). A crashing input is kept under
# $FUZZ_OUT/artifacts/TARGET/ and its path printed; commit it to corpus/TARGET/ as a regression
# seed once the core is fixed. Works on stable through RUSTC_BOOTSTRAP=1 (cargo-fuzz needs
# nightly-only sanitizer flags); installs cargo-fuzz when it is missing.
set -euo pipefail
cd "$(dirname "$0")"

secs="${FUZZ_SECS:-15}"
seed="${FUZZ_SEED:-1}"
export RUSTC_BOOTSTRAP=1
# The sanitizer build uses other flags than the workspace build: keep it in its own directory so
# the two do not rebuild each other.
target_dir="${CARGO_TARGET_DIR:-$PWD/../../target}/fuzz"
out="${FUZZ_OUT:-$(mktemp -d)}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "building ${#targets[@]} targets: ${targets[*]}"
cargo fuzz build -O --target-dir "$target_dir"

status=0
for t in "${targets[@]}"; do
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
    echo "== fuzz $t (${secs}s, seed $seed)"
    # The scratch directory comes first: libFuzzer writes what it finds to the first directory
    # only, and reads the committed seeds from the second.
    if ! cargo fuzz run -O --target-dir "$target_dir" "$t" "$out/corpus/$t" "corpus/$t" -- \
        -max_total_time="$secs" -seed="$seed" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/artifacts/$t/" -print_final_stats=1 2>"$out/$t.log"; then
        status=1
        tail -n 40 "$out/$t.log"
        echo "FUZZ FAILURE in $t; inputs:" "$out/artifacts/$t"/*
    fi
    grep -E '^(Done |#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
        "$out/$t.log" || true
done
exit "$status"
