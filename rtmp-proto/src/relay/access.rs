//! Asking the application before a connect, a publish or a play is accepted, and the names a
//! relay refuses by itself.

use alloc::string::String;

use crate::session::server::RequestId;

/// Which request an [`AccessRequest`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// A `connect`.
    Connect,
    /// A `publish`.
    Publish,
    /// A `play`.
    Play,
}

/// Which requests the relay parks until the application answers
/// ([`HubConfig::ask`](super::HubConfig::ask)). Default: none, everything allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AskFor {
    /// Ask before accepting a connect.
    pub connect: bool,
    /// Ask before accepting a publish.
    pub publish: bool,
    /// Ask before accepting a play.
    pub play: bool,
}

impl AskFor {
    /// Every request.
    pub const ALL: AskFor = AskFor {
        connect: true,
        publish: true,
        play: true,
    };

    /// Whether requests of `kind` are asked about.
    pub fn asks(&self, kind: AccessKind) -> bool {
        match kind {
            AccessKind::Connect => self.connect,
            AccessKind::Publish => self.publish,
            AccessKind::Play => self.play,
        }
    }
}

/// A request the relay parked: the peer's session keeps running (pings, acknowledgements)
/// but nothing it sends after the request is acted on until
/// [`RelayConnection::answer`](super::RelayConnection::answer) is called with `id`, or the
/// request is refused at [`HubConfig::access_timeout`](super::HubConfig::access_timeout).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessRequest {
    /// Names the request in the answer.
    pub id: RequestId,
    /// Connect, publish or play.
    pub kind: AccessKind,
    /// The application, without its query string.
    pub app: String,
    /// The stream name without its query string; empty for a connect.
    pub name: String,
    /// The query string: of the stream name for a publish or a play (`cam?key=...`), of the
    /// application for a connect (`live?token=...`).
    pub query: Option<String>,
    /// The connect's `tcUrl`.
    pub tc_url: Option<String>,
    /// The connect's `flashVer` (e.g. `FMLE/3.0 (compatible; Lavf59.27.100)`).
    pub flash_ver: Option<String>,
}

impl AccessRequest {
    /// Whether the query carries one of `keys` as `key=KEY` (among `&`-separated pairs,
    /// compared as sent, undecoded): how both server examples check `--publish-key`.
    pub fn carries_key<K: AsRef<str>>(&self, keys: &[K]) -> bool {
        carries_key(self.query.as_deref(), keys)
    }
}

fn carries_key<K: AsRef<str>>(query: Option<&str>, keys: &[K]) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.strip_prefix("key="))
        .any(|given| keys.iter().any(|key| key.as_ref() == given))
}

/// The application's answer to an [`AccessRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Go on as if nobody had been asked.
    Allow,
    /// Refuse, for this reason (sent to the peer as the status's description): a connect with
    /// `_error` NetConnection.Connect.Rejected, a publish with NetStream.Publish.Denied, a
    /// play with NetStream.Play.Failed; the connection then closes.
    Refuse(String),
}

/// Most bytes of a stream or application name that recording can use as a file name.
pub const MAX_NAME_BYTES: usize = 255;

/// Why `name` cannot be a file name (the relay's recordings are named after streams), if it
/// cannot: empty, `.` or `..`, a `/` or `\`, a control character, or over
/// [`MAX_NAME_BYTES`].
pub fn unsafe_file_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("The name is empty.")
    } else if name == "." || name == ".." {
        Some("The name is a directory's.")
    } else if name.contains(['/', '\\']) {
        Some("The name contains a slash.")
    } else if name.chars().any(char::is_control) {
        Some("The name contains a control character.")
    } else if name.len() > MAX_NAME_BYTES {
        Some("The name is longer than 255 bytes.")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_of_the_querys_pairs_compared_as_sent() {
        let keys = ["k1", "k 2"];
        assert!(carries_key(Some("key=k1"), &keys));
        assert!(carries_key(Some("a=b&key=k 2"), &keys));
        assert!(!carries_key(Some("key=k2"), &keys));
        assert!(!carries_key(Some("key=k1x"), &keys));
        assert!(!carries_key(Some("xkey=k1"), &keys));
        assert!(!carries_key(None, &keys));
    }

    #[test]
    fn names_that_cannot_be_files_are_told() {
        for bad in ["", ".", "..", "a/b", "..\\x", "a\nb", "\u{7f}"] {
            assert!(unsafe_file_name(bad).is_some(), "{bad:?}");
        }
        let long = "x".repeat(256);
        assert!(unsafe_file_name(&long).is_some());
        for good in ["cam1", "a.b", "...", "é-ü_1", &long[..255]] {
            assert_eq!(unsafe_file_name(good), None, "{good:?}");
        }
    }
}
