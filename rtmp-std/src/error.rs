//! Why an operation failed or a connection ended.
//!
//! One file serves both adapters: `rtmp-tokio/src/error.rs` is a link to this one (cargo
//! packages the file it points to). The two adapters share no crate but the core, and the
//! core's API carries no I/O error, so each has its own `Error`, of the same variants and names,
//! from the same source.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rtmp_proto::flv::FlvError;
pub use rtmp_proto::session::adapter::Refusal;
use rtmp_proto::session::client::HandoverError;
use rtmp_proto::session::{ApiError, SessionError};
use rtmp_proto::url::UrlError;

/// Why an operation failed or a connection ended, in words a user can act on. Cheap to clone
/// (an I/O error is shared), so a connection can give the same reason to every later call.
///
/// A [`Timeout`](Error::Timeout) of a wait the caller bounded leaves the connection usable;
/// every other error of a connection ends it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not an `rtmp://` or `rtmps://` URL we can use.
    #[error("invalid RTMP URL: {0}")]
    Url(#[from] UrlError),
    /// The TCP connection could not be made.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// `host:port` as given.
        address: String,
        /// What the operating system said.
        source: Arc<io::Error>,
    },
    /// A wait did not end in time.
    #[error("timed out after {after:?} {waiting_for}")]
    Timeout {
        /// How long we waited.
        after: Duration,
        /// What we were waiting for, e.g. "waiting for the answer to connect".
        waiting_for: &'static str,
    },
    /// Reading or writing the byte stream failed.
    #[error("i/o error: {0}")]
    Io(#[source] Arc<io::Error>),
    /// The peer closed the connection.
    #[error("the peer closed the connection")]
    PeerClosed,
    /// The connection was closed from our side.
    #[error("the connection was closed")]
    Closed,
    /// The peer broke the protocol, or a protocol timeout expired (RTMP 1.0 §5 to §7).
    #[error("{0}")]
    Session(#[source] SessionError),
    /// The server refused what was asked: connect, createStream, publish, play or a call,
    /// with the status it sent.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// An FLV file could not be read.
    #[error("FLV: {0}")]
    Flv(#[from] FlvError),
    /// TLS failed: a certificate or key that cannot be read, a server name that is not
    /// valid, or a handshake rustls refused (e.g. a certificate no trusted root vouches for).
    #[cfg(feature = "tls")]
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Something this build of the adapter does not do (the reason says what to do
    /// instead).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// The call was refused by the connection (misuse, or the outbound queue is full).
    #[error("{0}")]
    Api(#[from] ApiError),
    /// A publisher's application did not take the events its server sent
    /// (`Publisher::next_event`) fast enough: this many, the oldest, were dropped. The
    /// publisher goes on.
    #[error("{count} events of the server were dropped: take them with next_event")]
    EventsDropped {
        /// How many.
        count: u64,
    },
    /// A publisher asked to move to another server (Enhanced RTMP v2, "Reconnect") found
    /// none to take its stream: neither the URL the server named nor its original one
    /// ([`Handover::next_target`](rtmp_proto::session::client::Handover::next_target)). The
    /// publisher is closed.
    #[error("reconnect: {error}; the last attempt: {last}")]
    Reconnect {
        /// What the core decided, with the URLs tried.
        error: HandoverError,
        /// Why the last attempt failed.
        #[source]
        last: Box<Error>,
    },
}

impl Error {
    /// Whether this is a [`Timeout`](Error::Timeout) of a wait, after which the connection may
    /// still be used.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Error::Io(Arc::new(error))
    }
}

impl From<SessionError> for Error {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Closed => Error::Closed,
            other => Error::Session(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_texts_are_the_users() {
        let rejected = Error::from(Refusal::ConnectRejected {
            code: "NetConnection.Connect.Rejected".into(),
            description: "no".into(),
        });
        assert_eq!(
            rejected.to_string(),
            "connection rejected: NetConnection.Connect.Rejected: no"
        );
        assert!(matches!(Error::from(SessionError::Closed), Error::Closed));
        let timeout = Error::Timeout {
            after: Duration::from_millis(300),
            waiting_for: "waiting for the answer to connect",
        };
        assert!(timeout.is_timeout());
        assert_eq!(
            timeout.to_string(),
            "timed out after 300ms waiting for the answer to connect"
        );
    }
}
