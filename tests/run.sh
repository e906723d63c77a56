#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs the real peers the tests talk to
# when they are missing (Debian's ffmpeg 5.1, nginx with the RTMP module, rtmpdump, valgrind;
# FFmpeg 9 from the imageio-ffmpeg wheel), then `cargo test --workspace` with any arguments
# given. A peer that cannot be installed fails the run: no test is skipped for want of one.
set -euo pipefail
cd "$(dirname "$0")/.."

peers=(ffmpeg ffprobe nginx rtmpdump valgrind)
missing=()
for p in "${peers[@]}"; do command -v "$p" >/dev/null || missing+=("$p"); done
if [ ! -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] && [ ! -e /usr/share/nginx/modules-available/mod-rtmp.conf ]; then
  missing+=(libnginx-mod-rtmp)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing peers (missing: ${missing[*]})"
  for attempt in 1 2 3; do
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        ffmpeg nginx libnginx-mod-rtmp rtmpdump valgrind >/tmp/rtmp-ci-apt.log 2>&1; then
      break
    fi
    echo "apt-get failed (attempt $attempt)"; tail -n 20 /tmp/rtmp-ci-apt.log
    [ "$attempt" = 3 ] && exit 1
    sleep 10
  done
fi
for p in "${peers[@]}"; do command -v "$p" >/dev/null || { echo "peer $p is missing after install"; exit 1; }; done
# FFmpeg 9 (Enhanced RTMP: HEVC, AV1, VP9, Opus, multitrack), which Debian's 5.1 predates: the
# static build in the imageio-ffmpeg wheel (tests/src/ffmpeg9.rs finds it through python3).
has_ffmpeg9() { python3 -c 'import imageio_ffmpeg; imageio_ffmpeg.get_ffmpeg_exe()' >/dev/null 2>&1; }
command -v python3 >/dev/null || { echo "python3 is missing (needed for the FFmpeg 9 peer)"; exit 1; }
if ! has_ffmpeg9; then
  echo "installing peers (missing: imageio-ffmpeg, FFmpeg 9)"
  for attempt in 1 2 3; do
    # A Debian python3 refuses pip installs outside a venv (PEP 668) unless told otherwise.
    if { python3 -m pip install -q imageio-ffmpeg || python3 -m pip install -q --break-system-packages imageio-ffmpeg; } >/tmp/rtmp-ci-pip.log 2>&1 && has_ffmpeg9; then
      break
    fi
    echo "pip install imageio-ffmpeg failed (attempt $attempt)"; tail -n 20 /tmp/rtmp-ci-pip.log
    [ "$attempt" = 3 ] && exit 1
    sleep 10
  done
fi
has_ffmpeg9 || { echo "peer imageio-ffmpeg (FFmpeg 9) is missing after install"; exit 1; }

exec cargo test --workspace "$@"
