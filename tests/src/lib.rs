//! Shared helpers for the workspace's end-to-end tests, interop tests and benchmarks.
#![deny(missing_docs)]

/// The README's examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

pub mod ffmpeg9;
pub mod hostile;
pub mod peers;
pub mod peers_more;
