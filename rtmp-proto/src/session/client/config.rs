//! What a client connection is configured with: the session, the handshake, and the connect
//! command's parameters (RTMP 1.0 §7.2.1.1).

use alloc::string::String;
use alloc::vec::Vec;

use crate::amf::{Object, Value};
use crate::handshake::ClientConfig;
use crate::session::SessionConfig;

/// The `flashVer` FFmpeg, OBS and other encoders send when publishing; servers such as
/// nginx-rtmp and YouTube recognise a publisher by its `FMLE/` prefix.
pub const PUBLISHER_FLASH_VER: &str = "FMLE/3.0 (compatible; rtmp-proto)";
/// The `flashVer` FFmpeg and gortmp send when playing (a Flash Player on Linux).
pub const PLAYER_FLASH_VER: &str = "LNX 9,0,124,2";

/// The parameters of the `connect` command (RTMP 1.0 §7.2.1.1, Enhanced RTMP v2 "connect").
///
/// The properties are written into the command object in the order real clients use (FFmpeg's
/// and librtmp's): `app`, `type`, `flashVer`, `swfUrl`, `tcUrl`, `fpad`, `capabilities`,
/// `audioCodecs`, `videoCodecs`, `videoFunction`, `pageUrl`, `objectEncoding`, the Enhanced RTMP
/// properties, then [`extra_properties`](Self::extra_properties). A property whose field is
/// `None` is left out.
///
/// This type does not parse URLs: the adapters split `rtmp://host:port/app/stream` and pass
/// `app` and `tcUrl` here.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ConnectParams {
    /// The server application to connect to, e.g. `live` (`app`).
    pub app: String,
    /// `type`: FFmpeg and OBS send `nonprivate` when publishing.
    pub connection_type: Option<String>,
    /// The client's version string (`flashVer`).
    pub flash_ver: String,
    /// The URL of the SWF that made the connection (`swfUrl`).
    pub swf_url: Option<String>,
    /// The server URL, `rtmp://host[:port]/app` (`tcUrl`).
    pub tc_url: String,
    /// Whether a proxy is used (`fpad`).
    pub fpad: Option<bool>,
    /// `capabilities`; 15 by default for players.
    pub capabilities: Option<f64>,
    /// Audio codecs supported, a bit mask (`audioCodecs`, RTMP 1.0 §7.2.1.1); 4071 for players.
    pub audio_codecs: Option<f64>,
    /// Video codecs supported, a bit mask (`videoCodecs`); 252 for players.
    pub video_codecs: Option<f64>,
    /// Special video functions supported (`videoFunction`); 1 (seek to any frame) for players.
    pub video_function: Option<f64>,
    /// The URL of the web page the SWF was loaded from (`pageUrl`).
    pub page_url: Option<String>,
    /// The AMF encoding asked for (`objectEncoding`): 0 for AMF0, 3 for AMF3. The client
    /// itself always sends AMF0.
    pub object_encoding: Option<f64>,
    /// Enhanced RTMP `fourCcList`: the FourCCs (e.g. `hvc1`, `av01`, `Opus`) the client
    /// supports, `*` for any.
    pub four_cc_list: Option<Vec<String>>,
    /// Enhanced RTMP v2 `videoFourCcInfoMap`: FourCC to capability flags (decode 1, encode 2,
    /// forward 4).
    pub video_four_cc_info_map: Option<Object>,
    /// Enhanced RTMP v2 `audioFourCcInfoMap`.
    pub audio_four_cc_info_map: Option<Object>,
    /// Enhanced RTMP v2 `capsEx`: Reconnect 1, Multitrack 2, ModEx 4, TimestampNanoOffset 8.
    pub caps_ex: Option<u32>,
    /// Further command object properties, appended after the ones above.
    pub extra_properties: Vec<(String, Value)>,
    /// Values sent after the command object ("optional user arguments", RTMP 1.0 §7.2.1.1),
    /// e.g. the credentials some servers expect.
    pub extra_arguments: Vec<Value>,
}

impl ConnectParams {
    /// A player's parameters for `app` at `tc_url`: `flashVer` "LNX 9,0,124,2", `fpad` false,
    /// `capabilities` 15, `audioCodecs` 4071, `videoCodecs` 252, `videoFunction` 1,
    /// `objectEncoding` 0 (FFmpeg's values), and Enhanced RTMP v2 `capsEx` 2 (Multitrack): a
    /// player of this crate hands on every track's payload as it came, so a server may send
    /// it every track of a multitrack stream.
    pub fn player(app: impl Into<String>, tc_url: impl Into<String>) -> Self {
        ConnectParams {
            app: app.into(),
            connection_type: None,
            flash_ver: String::from(PLAYER_FLASH_VER),
            swf_url: None,
            tc_url: tc_url.into(),
            fpad: Some(false),
            capabilities: Some(15.0),
            audio_codecs: Some(4071.0),
            video_codecs: Some(252.0),
            video_function: Some(1.0),
            page_url: None,
            object_encoding: Some(0.0),
            four_cc_list: None,
            video_four_cc_info_map: None,
            audio_four_cc_info_map: None,
            caps_ex: Some(crate::session::CAPS_EX_MULTITRACK),
            extra_properties: Vec::new(),
            extra_arguments: Vec::new(),
        }
    }

    /// A publisher's parameters for `app` at `tc_url`, as FFmpeg and OBS send them: `app`,
    /// `type` "nonprivate", `flashVer` "FMLE/3.0 (compatible; rtmp-proto)" and `tcUrl` only.
    pub fn publisher(app: impl Into<String>, tc_url: impl Into<String>) -> Self {
        ConnectParams {
            connection_type: Some(String::from("nonprivate")),
            flash_ver: String::from(PUBLISHER_FLASH_VER),
            fpad: None,
            capabilities: None,
            audio_codecs: None,
            video_codecs: None,
            video_function: None,
            object_encoding: None,
            caps_ex: None,
            ..ConnectParams::player(app, tc_url)
        }
    }

    /// The connect command object, properties in the order described on the type.
    pub fn command_object(&self) -> Value {
        let mut object = Object::new().with("app", self.app.as_str());
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                object.insert(key, value);
            }
        };
        put("type", self.connection_type.as_deref().map(Value::from));
        put("flashVer", Some(Value::from(self.flash_ver.as_str())));
        put("swfUrl", self.swf_url.as_deref().map(Value::from));
        put("tcUrl", Some(Value::from(self.tc_url.as_str())));
        put("fpad", self.fpad.map(Value::from));
        put("capabilities", self.capabilities.map(Value::from));
        put("audioCodecs", self.audio_codecs.map(Value::from));
        put("videoCodecs", self.video_codecs.map(Value::from));
        put("videoFunction", self.video_function.map(Value::from));
        put("pageUrl", self.page_url.as_deref().map(Value::from));
        put("objectEncoding", self.object_encoding.map(Value::from));
        put(
            "fourCcList",
            self.four_cc_list
                .as_ref()
                .map(|list| Value::from(list.clone())),
        );
        put(
            "videoFourCcInfoMap",
            self.video_four_cc_info_map.clone().map(Value::from),
        );
        put(
            "audioFourCcInfoMap",
            self.audio_four_cc_info_map.clone().map(Value::from),
        );
        put("capsEx", self.caps_ex.map(Value::from));
        for (key, value) in &self.extra_properties {
            object.insert(key.as_str(), value.clone());
        }
        Value::Object(object)
    }
}

/// Everything a [`ClientConnection`](super::ClientConnection) needs to know up front.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClientConnectionConfig {
    /// Limits, windows, chunk size, timeouts and outbound bounds shared with the server role.
    pub session: SessionConfig,
    /// The handshake offered (RTMP 1.0 §5.2): digest by default, like FFmpeg.
    pub handshake: ClientConfig,
    /// The `connect` command's parameters.
    pub connect: ConnectParams,
    /// Send `releaseStream` and `FCPublish` before `publish`, as FFmpeg, OBS and GStreamer do
    /// (some CDNs expect them). Their answers are not waited for. Default true.
    pub send_fc_publish: bool,
}

impl ClientConnectionConfig {
    /// A configuration with the default session and handshake and `connect`.
    pub fn new(connect: ConnectParams) -> Self {
        ClientConnectionConfig {
            session: SessionConfig::default(),
            handshake: ClientConfig::default(),
            connect,
            send_fc_publish: true,
        }
    }

    /// A publisher's configuration for `app` at `tc_url` (see [`ConnectParams::publisher`]),
    /// without the idle timeout: a server sends a publisher next to nothing (nginx-rtmp an
    /// acknowledgement every 5 MB, more than a minute of a low-bitrate stream), so silence is
    /// no sign of a dead server. Set [`SessionConfig::ping_interval`] to detect one.
    pub fn publisher(app: impl Into<String>, tc_url: impl Into<String>) -> Self {
        let mut config = Self::new(ConnectParams::publisher(app, tc_url));
        config.session.idle_timeout = None;
        config
    }

    /// A player's configuration for `app` at `tc_url` (see [`ConnectParams::player`]).
    pub fn player(app: impl Into<String>, tc_url: impl Into<String>) -> Self {
        Self::new(ConnectParams::player(app, tc_url))
    }
}
