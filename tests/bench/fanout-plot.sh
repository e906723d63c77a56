#!/bin/sh
# Draws what the fan-out bench wrote with FANOUT_CSV=PATH and FANOUT_WINDOWS=... as a PNG:
# for each N, our server's CPU s per delivered Gbit and its p50 and p99 latency against the
# merge window (solid, with points), nginx-rtmp's for the same N as a flat dashed line.
# Needs gnuplot (Debian: apt-get install gnuplot-nox).
#
#   FANOUT_WINDOWS=0,10,25,50,100 FANOUT_CSV=fanout.csv cargo bench -p rtmp-tests --bench fanout
#   tests/bench/fanout-plot.sh fanout.csv fanout.png
set -eu

usage="usage: fanout-plot.sh FANOUT.csv OUT.png"
csv=${1:?$usage}
png=${2:?$usage}
command -v gnuplot >/dev/null 2>&1 || {
    echo "gnuplot is not installed: apt-get install gnuplot-nox" >&2
    exit 1
}

data=$(mktemp)
trap 'rm -f "$data"' EXIT

# One block per N (blocks are two blank lines apart), one row per merge window:
# N window cpu_ours p50_ours p99_ours cpu_nginx p50_nginx p99_nginx. Missing values are NaN.
# The CSV's columns: 1 server, 2 players, 3 window_ms, 8 cpu_s_per_gbit, 11 p50_ms, 12 p99_ms.
# A case run several times (FANOUT_REPEAT) is drawn at the median of each figure.
awk -F, '
    function v(x) { return x == "" ? "NaN" : x }
    function add(key, figure, x) { n[key, figure]++; val[key, figure, n[key, figure]] = v(x) }
    function median(key, figure,    count, i, j, t, list) {
        count = n[key, figure]
        if (count == 0) return "NaN"
        for (i = 1; i <= count; i++) list[i] = val[key, figure, i]
        for (i = 2; i <= count; i++)
            for (j = i; j > 1 && list[j - 1] + 0 > list[j] + 0; j--) {
                t = list[j]; list[j] = list[j - 1]; list[j - 1] = t
            }
        return list[int(count / 2) + 1]
    }
    FNR > 1 && ($1 == "nginx" || ($1 == "ours" && $3 ~ /^[0-9]+$/)) {
        key = $1 SUBSEP $2 SUBSEP ($1 == "nginx" ? "-" : $3)
        if (!(key in seen)) { seen[key] = 1; if ($1 == "ours") ours[key] = $2 " " $3 }
        add(key, "cpu", $8); add(key, "p50", $11); add(key, "p99", $12)
    }
    END {
        for (key in ours) {
            split(ours[key], nw, " ")
            theirs = "nginx" SUBSEP nw[1] SUBSEP "-"
            print nw[1], nw[2], median(key, "cpu"), median(key, "p50"), median(key, "p99"),
                median(theirs, "cpu"), median(theirs, "p50"), median(theirs, "p99")
        }
    }
' "$csv" |
    sort -k1,1n -k2,2n |
    awk 'NR > 1 && $1 != n { print ""; print "" } { n = $1; print }' >"$data"

ns=$(awk 'NF { print $1 }' "$data" | uniq | tr '\n' ' ')
if [ -z "$ns" ]; then
    echo "$csv has no row of our server with a merge window: run the bench with FANOUT_WINDOWS" >&2
    exit 1
fi

gnuplot <<EOF
set terminal pngcairo size 1800,600 font "sans,11"
set output "$png"
ns = "$ns"
count = words(ns)
set multiplot layout 1,3 title "Fan-out on loopback: our relay (solid) against nginx-rtmp (dashed), by merge window"
set grid
set key top right
set xlabel "merge window (ms)"
set logscale y
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0

set title "server CPU s per delivered Gbit"
set ylabel "CPU s/Gbit"
plot for [i=0:count-1] "$data" index i using 2:3 with linespoints lw 2 pt 7 lc i+1 \
        title sprintf("ours, N=%s", word(ns, i+1)), \
     for [i=0:count-1] "$data" index i using 2:6 with lines lw 2 dt 2 lc i+1 \
        title sprintf("nginx, N=%s", word(ns, i+1))

set key top left
set title "latency, 50th percentile"
set ylabel "publisher to player (ms)"
plot for [i=0:count-1] "$data" index i using 2:4 with linespoints lw 2 pt 7 lc i+1 \
        title sprintf("ours, N=%s", word(ns, i+1)), \
     for [i=0:count-1] "$data" index i using 2:7 with lines lw 2 dt 2 lc i+1 \
        title sprintf("nginx, N=%s", word(ns, i+1))

set title "latency, 99th percentile"
plot for [i=0:count-1] "$data" index i using 2:5 with linespoints lw 2 pt 7 lc i+1 \
        title sprintf("ours, N=%s", word(ns, i+1)), \
     for [i=0:count-1] "$data" index i using 2:8 with lines lw 2 dt 2 lc i+1 \
        title sprintf("nginx, N=%s", word(ns, i+1))

unset multiplot
EOF
echo "wrote $png"
