//! Shared helpers for the workspace's end-to-end tests, interop tests and benchmarks.
