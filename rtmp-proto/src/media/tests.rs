//! Tests across the media module: real captures.
