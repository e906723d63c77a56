//! Why an operation failed or a connection ended: the error type both adapters share.

pub use rtmp_proto::session::adapter::Error;
