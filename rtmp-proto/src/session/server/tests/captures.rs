//! Replays of what FFmpeg and rtmpdump sent to nginx-rtmp.
