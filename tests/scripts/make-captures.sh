#!/usr/bin/env bash
# Records real RTMP conversations on loopback as fixtures for the decoder tests:
#   ffmpeg publishing to nginx-rtmp, ffmpeg playing from it, rtmpdump playing from it.
# Each conversation is saved as NAME.c2s (client to server bytes) and NAME.s2c (server to
# client bytes) under tests/fixtures/captures/, next to the FLV clip that was published.
# Needs: ffmpeg, nginx with libnginx-mod-rtmp, rtmpdump, python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../fixtures/captures"
work="$(mktemp -d)"
nginx_port=19350
mkdir -p "$out" "$work/logs"
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon on;
pid $work/nginx.pid;
error_log $work/logs/error.log info;
events { worker_connections 64; }
rtmp {
  server {
    listen 127.0.0.1:$nginx_port;
    chunk_size 4096;
    application live { live on; }
  }
}
CONF
nginx -p "$work" -c "$work/nginx.conf"

# A short, small H.264/AAC clip: 1 s of 10 fps test pattern at 64x48 and a 440 Hz tone.
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc=size=64x48:rate=10:duration=1" \
  -f lavfi -i "sine=frequency=440:sample_rate=22050:duration=1" \
  -c:v libx264 -preset ultrafast -g 10 -pix_fmt yuv420p -b:v 20k \
  -c:a aac -b:a 24k -ac 1 -shortest -f flv "$out/clip.flv"

record() { python3 "$here/record-proxy.py" "$1" "$nginx_port" "$out/$2" & }

# 1. ffmpeg publishes the clip through the recording proxy.
record 19351 ffmpeg-publish
sleep 0.3
ffmpeg -hide_banner -loglevel error -re -i "$out/clip.flv" -c copy -f flv \
  "rtmp://127.0.0.1:19351/live/cap"
wait

# 2. and 3. players: a publisher loops the clip into nginx directly while each player records.
ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$out/clip.flv" -c copy -f flv \
  "rtmp://127.0.0.1:$nginx_port/live/cap" &
publisher=$!
sleep 1.5
record 19352 ffmpeg-play
sleep 0.3
timeout 20 ffmpeg -hide_banner -loglevel error -i "rtmp://127.0.0.1:19352/live/cap" -t 1 -c copy \
  -f flv -y "$work/played.flv"
wait %2 2>/dev/null || true
record 19353 rtmpdump-play
sleep 0.3
timeout 3 rtmpdump -q -r "rtmp://127.0.0.1:19353/live/cap" --live --stop 1 -o "$work/dumped.flv" || true
sleep 1
kill "$publisher" 2>/dev/null || true
ls -l "$out"
