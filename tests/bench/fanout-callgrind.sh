#!/usr/bin/env bash
# Instructions our relay server and nginx-rtmp execute for the same fan-out load, which unlike
# CPU time do not move with the machine's other tenants: the fan-out bench runs both servers
# under callgrind (ours through FANOUT_WRAP, nginx through a wrapper put first in PATH), each is
# dumped every 2 s, and the dumps after the first two (start-up, warm-up) are summarised: the
# instructions executed, per dump and per publisher message (a dump holds 139 to 157 of them,
# and the last one the stream's end: the median per message is the steadier figure), and the
# code run over and over (64-byte lines of machine code, and the 4 KiB pages they lie on, in
# which some instruction ran at least 40 times in the dump: the clip brings 50 video and about
# 86 audio messages per 2 s). A server that wakes for every message, its caches cooled by the
# rest of the machine meanwhile, fetches that code again for each: at a few players it costs
# more than the instructions (README, "Fan-out benchmark").
#
#   tests/bench/fanout-callgrind.sh [PLAYERS] [SECS] [WINDOW_MS]    # defaults 10 10 0
#
# FANOUT_CALLGRIND_KEEP=DIR keeps the dumps in DIR (ours.PID.N, nginx.PID.N) for
# callgrind_annotate, e.g. `callgrind_annotate --inclusive=yes DIR/ours.*.5`; and
# FANOUT_CALLGRIND_ARGS adds options to both valgrind commands (e.g. --cache-sim=yes).
#
# FANOUT_CALLGRIND_COLD=1 simulates caches so small (4 KiB first level, 8 KiB last) that every
# message runs cold, as on an idle server whose caches the rest of the machine emptied between
# two frames, and prints the misses per message: the last-level ones (ILmr for code, DLmr and
# DLmw for data) count the 64-byte lines a message brings in from memory. They move by 2-3 %
# from run to run, where the CPU time of a round in turn moves by a quarter, so a change too
# small to see in CPU time shows in them. As measured in turn (docs/fanout-window-zero.md,
# eleventh pass), a line of code run once per message costs about 0.02 % of the server's CPU at
# 10 players, and a line of data read in parallel a quarter of that.
#
# Under callgrind a server runs some 50 times slower: keep PLAYERS small (10-20), or the server
# falls behind and batches grow, which changes what is measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
players=${1:-10}
secs=${2:-10}
window=${3:-0}
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null \
  || { echo "valgrind (callgrind) is needed: apt-get install valgrind"; exit 1; }
nginx=$(command -v nginx) || { echo "nginx is needed"; exit 1; }
keep=${FANOUT_CALLGRIND_KEEP:-}
extra=${FANOUT_CALLGRIND_ARGS:-}
if [ "${FANOUT_CALLGRIND_COLD:-}" = 1 ]; then
  extra="--cache-sim=yes --I1=4096,2,64 --D1=4096,2,64 --LL=8192,2,64 $extra"
fi
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  out=$(cd "$keep" && pwd)
else
  out=$(mktemp -d)
fi
mkdir -p "$out/bin"
cat > "$out/bin/nginx" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --compress-strings=no --dump-instr=yes $extra --callgrind-out-file=$out/nginx.%p $nginx "\$@"
EOF
chmod +x "$out/bin/nginx"
(
  # Bounded: the bench itself takes about 30 s plus twice SECS per server.
  for _ in $(seq 1 $((60 + secs * 4))); do
    for pid in $(pgrep -f "callgrind-out-file=$out" || true); do
      callgrind_control -d "$pid" >/dev/null 2>&1 || true
    done
    sleep 2
  done
) &
dumper=$!
if [ -n "$keep" ]; then
  trap 'kill $dumper 2>/dev/null || true' EXIT
else
  trap 'kill $dumper 2>/dev/null || true; rm -rf "$out"' EXIT
fi
FANOUT_WRAP="valgrind --tool=callgrind --compress-strings=no --dump-instr=yes $extra --callgrind-out-file=$out/ours.%p" \
  PATH="$out/bin:$PATH" FANOUT_NS="$players" FANOUT_WINDOWS="$window" FANOUT_SECS="$secs" \
  cargo bench -p rtmp-tests --bench fanout | grep -E '^\|( server| ours| nginx|---)' || true
echo
echo "instructions per 2 s dump (after the first two): median (least-most), dumps"
for server in ours nginx; do
  # In the order they were taken (version sort: .10 after .9), less the first two.
  files=$(ls "$out/$server".*.* 2>/dev/null | sort -V | tail -n +3 || true)
  # shellcheck disable=SC2086
  grep -h '^summary:' $files /dev/null | awk '{print $2}' | sort -n \
    | awk -v s="$server" '{ v[NR] = $1 } END {
        if (NR == 0) { print s ": no dumps"; exit }
        printf "%s: %.2f M (%.2f-%.2f M), %d dumps\n", s, v[int((NR + 1) / 2)] / 1e6, v[1] / 1e6, v[NR] / 1e6, NR }'
done
echo
echo "instructions per publisher message, per dump (after the first two): median (least-most);"
echo "with the cache simulation, its misses per message too"
for server in ours:rtmp_proto::relay::frame::Frame::chunk nginx:ngx_rtmp_receive_message; do
  files=$(ls "$out/${server%%:*}".*.* 2>/dev/null | sort -V | tail -n +3 || true)
  [ -n "$files" ] || { echo "${server%%:*}: no dumps"; continue; }
  # shellcheck disable=SC2086
  python3 tests/bench/callgrind-per-message.py "${server%%:*}" "${server#*:}" $files
done
echo
echo "code run at least 40 times per 2 s dump: 64-byte lines, 4 KiB pages; median (least-most)"
for server in ours nginx; do
  files=$(ls "$out/$server".*.* 2>/dev/null | sort -V | tail -n +3 || true)
  [ -n "$files" ] || { echo "$server: no dumps"; continue; }
  # shellcheck disable=SC2086
  python3 tests/bench/callgrind-footprint.py --summary "$server" 40 $files
done
