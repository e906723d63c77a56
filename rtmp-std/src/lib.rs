//! Drive [`rtmp_proto`] over blocking std I/O, over any `Read + Write` byte stream.
//!
//! The adapter is built in its own issue; for now it re-exports the core it will drive.
pub use rtmp_proto as proto;
