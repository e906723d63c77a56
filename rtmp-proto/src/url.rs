//! RTMP URLs: `rtmp://host[:port]/app[/instance]/stream[?query]` and `rtmps://...`, split the way
//! FFmpeg and librtmp split them, and the `tcUrl` a client sends in connect (RTMP 1.0 §7.2.1.1).

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;
use core::str::FromStr;

/// The default port of `rtmp://` (RTMP 1.0 §3).
pub const DEFAULT_PORT: u16 = 1935;
/// The default port of `rtmps://` (RTMP over TLS, as FFmpeg and OBS use it).
pub const DEFAULT_TLS_PORT: u16 = 443;

/// Plain RTMP or RTMP over TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `rtmp://`, over TCP.
    Rtmp,
    /// `rtmps://`, over TLS.
    Rtmps,
}

impl Scheme {
    /// The scheme's name as written in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Rtmp => "rtmp",
            Scheme::Rtmps => "rtmps",
        }
    }

    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Rtmp => DEFAULT_PORT,
            Scheme::Rtmps => DEFAULT_TLS_PORT,
        }
    }
}

/// Why a URL is not an RTMP URL we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `rtmp` or `rtmps` (RTMPE, RTMPT and others are not supported).
    #[error("unsupported scheme (expected rtmp:// or rtmps://)")]
    UnsupportedScheme,
    /// No host between `//` and the path.
    #[error("the URL has no host")]
    MissingHost,
    /// The port is not a number from 1 to 65535.
    #[error("invalid port")]
    InvalidPort,
    /// No application name in the path.
    #[error("the URL has no application name")]
    MissingApp,
    /// A URL that must name an application only (an origin's) names a stream, with a query.
    #[error("the URL must name an application only, without a stream name and query")]
    StreamGiven,
}

/// An RTMP URL, split into what the connection needs.
///
/// The application is the first path segment, and the second too when three or more segments
/// follow the host (`app/instance`, as FFmpeg reads it); the stream name is the rest,
/// query string included (servers read stream keys and tokens from it).
///
/// ```
/// use rtmp_proto::url::{RtmpUrl, Scheme};
/// let url: RtmpUrl = "rtmp://127.0.0.1/live/cam1?key=secret".parse().unwrap();
/// assert_eq!((url.scheme, url.host.as_str(), url.port), (Scheme::Rtmp, "127.0.0.1", 1935));
/// assert_eq!(url.app, "live");
/// assert_eq!(url.stream.as_deref(), Some("cam1?key=secret"));
/// assert_eq!(url.tc_url(), "rtmp://127.0.0.1:1935/live");
///
/// let url: RtmpUrl = "rtmps://[::1]:4443/app/instance/name".parse().unwrap();
/// assert_eq!((url.host.as_str(), url.port, url.app.as_str()), ("::1", 4443, "app/instance"));
/// assert_eq!(url.to_string(), "rtmps://[::1]:4443/app/instance/name");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RtmpUrl {
    /// `rtmp` or `rtmps`.
    pub scheme: Scheme,
    /// Host name or address, without the brackets of an IPv6 literal.
    pub host: String,
    /// The port, the scheme's default when the URL names none.
    pub port: u16,
    /// The application (connect's `app`), e.g. `live` or `app/instance`.
    pub app: String,
    /// The stream name with its query string, if the URL names a stream.
    pub stream: Option<String>,
}

impl RtmpUrl {
    /// Parses `url`; see the type's documentation for how the path is split.
    pub fn parse(url: &str) -> Result<RtmpUrl, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::UnsupportedScheme)?;
        let scheme = if scheme.eq_ignore_ascii_case("rtmp") {
            Scheme::Rtmp
        } else if scheme.eq_ignore_ascii_case("rtmps") {
            Scheme::Rtmps
        } else {
            return Err(UrlError::UnsupportedScheme);
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = split_authority(authority)?;
        if host.is_empty() {
            return Err(UrlError::MissingHost);
        }
        let port = match port {
            None => scheme.default_port(),
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(UrlError::InvalidPort),
            },
        };
        let (app, stream) = split_path(path);
        if app.is_empty() {
            return Err(UrlError::MissingApp);
        }
        Ok(RtmpUrl {
            scheme,
            host: host.to_string(),
            port,
            app: app.to_string(),
            stream: stream.filter(|s| !s.is_empty()).map(ToString::to_string),
        })
    }

    /// The `tcUrl` for connect: scheme, host, port and application (RTMP 1.0 §7.2.1.1).
    pub fn tc_url(&self) -> String {
        format!(
            "{}://{}/{}",
            self.scheme.as_str(),
            self.authority(),
            self.app
        )
    }

    /// `host:port`, with brackets around an IPv6 literal, for connecting a socket.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Splits `host[:port]` or `[v6]:port`.
fn split_authority(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, rest) = bracketed.split_once(']').ok_or(UrlError::MissingHost)?;
        return match rest {
            "" => Ok((host, None)),
            _ => rest
                .strip_prefix(':')
                .map(|port| (host, Some(port)))
                .ok_or(UrlError::InvalidPort),
        };
    }
    Ok(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// Splits the path after the host into the application and the stream name. The query string
/// belongs to the stream name when there is one (FFmpeg keeps it there), to the app otherwise.
fn split_path(path: &str) -> (&str, Option<&str>) {
    let path = path.trim_start_matches('/');
    let route = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let mut separators = route.match_indices('/').map(|(at, _)| at);
    let app_end = match route.split('/').filter(|s| !s.is_empty()).count() {
        0 | 1 => None,
        2 => separators.next(),
        _ => separators.nth(1),
    };
    match app_end {
        None => (path.trim_end_matches('/'), None),
        Some(end) => (&path[..end], path.get(end + 1..)),
    }
}

impl FromStr for RtmpUrl {
    type Err = UrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        RtmpUrl::parse(url)
    }
}

impl fmt::Display for RtmpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.tc_url())?;
        match &self.stream {
            Some(stream) => write!(f, "/{stream}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (String, u16, String, Option<String>) {
        let url = RtmpUrl::parse(url).unwrap();
        (url.host, url.port, url.app, url.stream)
    }

    #[test]
    fn splits_like_ffmpeg() {
        let s = |v: &str| v.to_string();
        assert_eq!(
            parts("rtmp://h/live/key"),
            (s("h"), 1935, s("live"), Some(s("key")))
        );
        assert_eq!(
            parts("rtmp://h:19350/live"),
            (s("h"), 19350, s("live"), None)
        );
        assert_eq!(parts("rtmp://h/live/"), (s("h"), 1935, s("live"), None));
        assert_eq!(
            parts("rtmp://h/app/inst/name?token=a/b"),
            (s("h"), 1935, s("app/inst"), Some(s("name?token=a/b")))
        );
        assert_eq!(
            parts("RTMPS://live.example.com/app/stream-key"),
            (s("live.example.com"), 443, s("app"), Some(s("stream-key")))
        );
        assert_eq!(
            parts("rtmp://[::1]/live/x"),
            (s("::1"), 1935, s("live"), Some(s("x")))
        );
        assert_eq!(
            parts("rtmp://h/live?vhost=a"),
            (s("h"), 1935, s("live?vhost=a"), None)
        );
    }

    #[test]
    fn tc_url_and_display() {
        let url = RtmpUrl::parse("rtmp://example.com/live/stream?k=1").unwrap();
        assert_eq!(url.tc_url(), "rtmp://example.com:1935/live");
        assert_eq!(url.to_string(), "rtmp://example.com:1935/live/stream?k=1");
        assert_eq!(url.authority(), "example.com:1935");
        assert_eq!(RtmpUrl::parse(&url.to_string()), Ok(url));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert_eq!(
            RtmpUrl::parse("http://h/live"),
            Err(UrlError::UnsupportedScheme)
        );
        assert_eq!(
            RtmpUrl::parse("rtmpe://h/live"),
            Err(UrlError::UnsupportedScheme)
        );
        assert_eq!(RtmpUrl::parse("h/live"), Err(UrlError::UnsupportedScheme));
        assert_eq!(RtmpUrl::parse("rtmp:///live"), Err(UrlError::MissingHost));
        assert_eq!(
            RtmpUrl::parse("rtmp://h:0/live"),
            Err(UrlError::InvalidPort)
        );
        assert_eq!(
            RtmpUrl::parse("rtmp://h:70000/live"),
            Err(UrlError::InvalidPort)
        );
        assert_eq!(
            RtmpUrl::parse("rtmp://[::1]x/live"),
            Err(UrlError::InvalidPort)
        );
        assert_eq!(RtmpUrl::parse("rtmp://h"), Err(UrlError::MissingApp));
        assert_eq!(RtmpUrl::parse("rtmp://h/"), Err(UrlError::MissingApp));
    }

    proptest::proptest! {
        #![proptest_config(crate::test_support::proptest_config!("url"))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,64}") {
            let _ = RtmpUrl::parse(&text);
            let _ = RtmpUrl::parse(&format!("rtmp://{text}"));
        }

        #[test]
        fn display_parses_back(
            host in "[a-z][a-z0-9.-]{0,20}",
            port in 1u16..,
            app in "[a-zA-Z0-9_-]{1,10}",
            stream in proptest::option::of("[a-zA-Z0-9_-][a-zA-Z0-9_=&?-]{0,20}"),
        ) {
            let url = RtmpUrl { scheme: Scheme::Rtmp, host, port, app, stream };
            proptest::prop_assert_eq!(RtmpUrl::parse(&url.to_string()), Ok(url));
        }
    }
}
