//! The command line and its TOML twin: every flag is also a key of `--config FILE`
//! (`merge-window = 25`, `publish-key = ["k1", "k2"]`); a flag given on the command line wins.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use serde::Deserialize;

/// Which tracks of a multitrack stream players get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Multitrack {
    /// Every track to players that announce Enhanced RTMP multitrack, the default track to
    /// the others.
    Capable,
    /// Every track to every player (FFmpeg reads multitrack FLV but announces nothing when it
    /// plays).
    All,
}

/// The RTMP relay server: publish to rtmp://HOST/APP/NAME, play the same URL.
#[derive(Clone, Debug, Default, Parser, Deserialize)]
#[command(
    name = "server",
    version,
    about = "The RTMP relay server: publish to rtmp://HOST/APP/NAME, play the same URL."
)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Where to listen for RTMP [default: 127.0.0.1:1935]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Runtime threads; one serves over 1.6 Gbit/s of fan-out [default: 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Which tracks of a multitrack stream players get [default: capable]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub multitrack: Option<Multitrack>,
    /// How long a publisher's frames wait to be handed on together, in milliseconds; 0 hands
    /// each frame on as it arrives [default: 25]
    #[arg(long, value_name = "MS")]
    pub merge_window: Option<u64>,
    /// What all connections together may hold in partial messages and unread answers, in
    /// MiB; a connection that would take more is closed [default: 256]
    #[arg(long, value_name = "MIB")]
    pub memory_budget: Option<u64>,
    /// Milliseconds from the handshake to `connect` before the connection is closed
    /// [default: 10000]
    #[arg(long, value_name = "MS")]
    pub connect_timeout: Option<u64>,
    /// Milliseconds from `connect` to a publish or play before the connection is closed
    /// [default: 10000]
    #[arg(long, value_name = "MS")]
    pub stream_timeout: Option<u64>,
    /// Milliseconds bytes sent to a peer may stay unacknowledged by its TCP before the
    /// connection is dropped (TCP_USER_TIMEOUT; 0: the system's) [default: 30000]
    #[arg(long, value_name = "MS")]
    pub unacked_timeout: Option<u64>,
    /// What to log, as tracing's EnvFilter directives: a level (error, warn, info, debug,
    /// trace) and per-target levels, e.g. `info,rtmp_proto=debug` [default: RUST_LOG if
    /// set, else info]
    #[arg(long, value_name = "FILTER")]
    pub log: Option<String>,
    /// Read these settings from a TOML file (keys as the flags, without the dashes in
    /// front); flags given here win
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// A key publishers must give, as the stream name's query `NAME?key=KEY`; repeat for
    /// several. Without any, anyone may publish
    #[arg(long = "publish-key", value_name = "KEY")]
    pub publish_key: Vec<String>,
    /// Only players whose address starts with this may play (e.g. `127.0.0.1` or `10.1.`);
    /// repeatable
    #[arg(long = "allow-play", value_name = "PREFIX")]
    pub allow_play: Vec<String>,
    /// Players whose address starts with this may not play; repeatable, and wins over
    /// --allow-play
    #[arg(long = "deny-play", value_name = "PREFIX")]
    pub deny_play: Vec<String>,
    /// Ask this URL before each publish: a POST of app, name, args and addr (form-encoded);
    /// a 2xx answer allows, anything else or no answer within 3 s refuses
    #[arg(long, value_name = "URL")]
    pub on_publish: Option<String>,
    /// Ask this URL before each play, as --on-publish does
    #[arg(long, value_name = "URL")]
    pub on_play: Option<String>,
    /// Serve /metrics (Prometheus) and /api/streams (JSON) over HTTP on this address
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Record every published stream to DIR/APP/NAME-UTCSTART.flv
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Forward every published stream to this `rtmp://` or `rtmps://` URL (an app: the local
    /// stream name is appended; or an app and a stream name); repeatable, each upstream its
    /// own connection
    #[arg(long, value_name = "URL")]
    pub push: Vec<String>,
    /// Be an edge of this origin: a play of a stream nobody publishes here is pulled from
    /// `URL/NAME` (`URL` names the origin's app; the player's stream name and query are
    /// appended), one upstream connection per stream; repeatable, tried in order, the next
    /// one when an origin fails or drops
    #[arg(long, value_name = "URL")]
    pub origin: Vec<String>,
    /// How long an origin may take to send a pulled stream's first media, in milliseconds;
    /// past it the next origin is tried, and after the last the players get
    /// NetStream.Play.StreamNotFound [default: 5000]
    #[arg(long, value_name = "MS")]
    pub origin_timeout: Option<u64>,
    /// How long a pulled stream whose upstream dropped waits for an origin, its players kept,
    /// in milliseconds [default: 10000]
    #[arg(long, value_name = "MS")]
    pub origin_reconnect: Option<u64>,
    /// How long after its last player leaves a pulled stream's upstream is closed, in
    /// milliseconds [default: 5000]
    #[arg(long, value_name = "MS")]
    pub origin_idle_close: Option<u64>,
    /// Trust this certificate (PEM) for rtmps:// origins, e.g. a self-signed origin's (needs
    /// the tls feature)
    #[arg(long, value_name = "PEM")]
    pub origin_ca: Option<PathBuf>,
    /// Forward what is published here to the first --origin as well (as SRS edges do), so
    /// that the origin's other edges can play it
    #[arg(long)]
    #[serde(default)]
    pub edge_forward_publish: bool,
    /// On SIGTERM or ctrl-c, ask capable publishers (Enhanced RTMP reconnect) to move to this
    /// tcUrl (e.g. rtmp://10.0.0.2/live) instead of coming back to this server
    #[arg(long, value_name = "URL")]
    pub reconnect_to: Option<String>,
    /// On SIGTERM or ctrl-c, how long to wait for publishers and players to leave before
    /// exiting, in milliseconds [default: 10000]
    #[arg(long, value_name = "MS")]
    pub drain_timeout: Option<u64>,
}

impl Settings {
    /// The command line, over the file it names, if any.
    pub fn load() -> Result<Settings, String> {
        let command_line = Settings::parse();
        match &command_line.config {
            Some(path) => Ok(command_line.clone().over(Settings::read(path)?)),
            None => Ok(command_line),
        }
    }

    fn read(path: &Path) -> Result<Settings, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        toml::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
    }

    /// These settings, with `file`'s where these have none.
    fn over(self, file: Settings) -> Settings {
        fn list(flags: Vec<String>, file: Vec<String>) -> Vec<String> {
            if flags.is_empty() {
                file
            } else {
                flags
            }
        }
        Settings {
            listen: self.listen.or(file.listen),
            threads: self.threads.or(file.threads),
            multitrack: self.multitrack.or(file.multitrack),
            merge_window: self.merge_window.or(file.merge_window),
            memory_budget: self.memory_budget.or(file.memory_budget),
            connect_timeout: self.connect_timeout.or(file.connect_timeout),
            stream_timeout: self.stream_timeout.or(file.stream_timeout),
            unacked_timeout: self.unacked_timeout.or(file.unacked_timeout),
            log: self.log.or(file.log),
            config: self.config,
            publish_key: list(self.publish_key, file.publish_key),
            allow_play: list(self.allow_play, file.allow_play),
            deny_play: list(self.deny_play, file.deny_play),
            on_publish: self.on_publish.or(file.on_publish),
            on_play: self.on_play.or(file.on_play),
            http: self.http.or(file.http),
            record: self.record.or(file.record),
            push: list(self.push, file.push),
            origin: list(self.origin, file.origin),
            origin_timeout: self.origin_timeout.or(file.origin_timeout),
            origin_reconnect: self.origin_reconnect.or(file.origin_reconnect),
            origin_idle_close: self.origin_idle_close.or(file.origin_idle_close),
            origin_ca: self.origin_ca.or(file.origin_ca),
            edge_forward_publish: self.edge_forward_publish || file.edge_forward_publish,
            reconnect_to: self.reconnect_to.or(file.reconnect_to),
            drain_timeout: self.drain_timeout.or(file.drain_timeout),
        }
    }

    /// The log filter, checked: `--log` (or the file's `log`), else `RUST_LOG`, else `info`.
    pub fn log_filter(&self) -> Result<tracing_subscriber::EnvFilter, String> {
        let (given, from) = match (&self.log, std::env::var("RUST_LOG")) {
            (Some(log), _) => (log.clone(), "--log"),
            (None, Ok(env)) if !env.trim().is_empty() => (env, "RUST_LOG"),
            (None, _) => (String::from("info"), "--log"),
        };
        // Parsed strictly: a directive that does not parse is an error, not silently dropped.
        tracing_subscriber::EnvFilter::builder()
            .parse(&given)
            .map_err(|error| {
                format!(
                    "{from}: {given:?} is not a log filter (e.g. info,rtmp_proto=debug): {error}"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file() {
        let file: Settings = toml::from_str(
            "listen = \"0.0.0.0:1935\"\nmerge-window = 10\npublish-key = [\"a\", \"b\"]\n\
             record = \"/srv/rec\"\nhttp = \"127.0.0.1:8080\"\ndrain-timeout = 500\n\
             reconnect-to = \"rtmp://b/live\"\norigin = [\"rtmp://o1/live\", \"rtmp://o2/live\"]\n\
             origin-idle-close = 2000\nedge-forward-publish = true\n",
        )
        .unwrap();
        let flags = Settings::parse_from(["server", "--merge-window", "0", "--deny-play", "10."]);
        let merged = flags.over(file);
        assert_eq!(merged.listen.as_deref(), Some("0.0.0.0:1935"));
        assert_eq!(merged.merge_window, Some(0));
        assert_eq!(merged.publish_key, ["a", "b"]);
        assert_eq!(merged.deny_play, ["10."]);
        assert_eq!(merged.record, Some(PathBuf::from("/srv/rec")));
        assert_eq!(merged.http.map(|a| a.port()), Some(8080));
        assert_eq!(merged.drain_timeout, Some(500));
        assert_eq!(merged.reconnect_to.as_deref(), Some("rtmp://b/live"));
        assert_eq!(merged.origin, ["rtmp://o1/live", "rtmp://o2/live"]);
        assert_eq!(merged.origin_idle_close, Some(2000));
        assert!(merged.edge_forward_publish);
    }

    #[test]
    fn the_log_flag_is_a_filter() {
        let settings = Settings::parse_from(["server", "--log", "info,rtmp_proto=debug"]);
        let filter = settings.log_filter().unwrap();
        assert_eq!(filter.to_string(), "rtmp_proto=debug,info");
        let bad = Settings::parse_from(["server", "--log", "info,rtmp_proto=loud"]);
        let error = bad.log_filter().unwrap_err();
        assert!(
            error.starts_with("--log: \"info,rtmp_proto=loud\" is not a log filter"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<Settings>("listn = \"x\"").is_err());
    }
}
