//! The client connection (RTMP 1.0 §7.2): being written.
