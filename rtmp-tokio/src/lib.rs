//! Drive [`rtmp_proto`] over tokio, over any `AsyncRead + AsyncWrite` byte stream.
#![warn(missing_docs)]

pub mod client;
mod driver;
mod error;
pub mod flv;
pub mod relay;
pub mod server;

pub use error::Error;
pub use rtmp_proto as proto;
