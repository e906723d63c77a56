//! The player controls of both clients against a real server: nginx-rtmp serving a recorded
//! FLV file (its `play` directive, video on demand). Our tokio and blocking players play it,
//! pause, resume and seek, and what arrives is compared with the file's packets (track,
//! timestamp and size, in the file's order). nginx-rtmp answers no call it does not know
//! (not even `getStreamLength`), so `Client::call` is tested against our own tokio server,
//! whose application answers one call and refuses another.
//!
//! What nginx-rtmp 1.2.2 does, from its `ngx_rtmp_play_module.c` and `ngx_rtmp_flv_module.c`,
//! and what these tests therefore expect:
//! - it sends the file paced in real time, up to the player's buffer length (3 s here) plus
//!   one second ahead;
//! - `pause`: NetStream.Pause.Notify after what it had sent already, then nothing;
//! - `pause` false: NetStream.Unpause.Notify, then it starts the file again from where the
//!   last play or seek started (it ignores the position: "TODO: v->position?" in its
//!   source), not from where it paused;
//! - `seek`: Stream EOF, NetStream.Seek.Notify, Stream Begin, then the file from the first
//!   keyframe of the file's index (`onMetaData.keyframes`) whose time is strictly after the
//!   position asked for;
//! - at the end of the file: Stream EOF, onPlayStatus NetStream.Play.Complete,
//!   NetStream.Play.Stop.
//!
//! The statuses around pause and seek are read from the clients' events
//! (`player.client().next_event()`), which show them in order with the media around them.

mod tokio_support;

use std::time::Duration;

use bytes::Bytes;
use rtmp_proto::amf::Value;
use rtmp_proto::media::{AudioInfo, VideoInfo};
use rtmp_proto::session::client::ClientEvent;
use rtmp_proto::session::server::{ServerConnectionConfig, ServerEvent};
use rtmp_tests::peers::{make_seekable_clip, probe_packets, Nginx, TempDir};
use tokio_support::runtime;

/// The clip's length and keyframe interval (50 frames at 25 fps).
const CLIP_SECONDS: u32 = 30;
const GOP_MS: u32 = 2000;
/// Where the tests seek to.
const SEEK_TO_MS: u32 = 10_000;
/// Where the tests seek to play the end of the file.
const NEAR_THE_END_MS: u32 = (CLIP_SECONDS - 3) * 1000;
/// The longest wait for anything nginx should send at once.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long a paused stream must stay silent.
const PAUSE_WINDOW: Duration = Duration::from_secs(2);

/// A media packet as both ffprobe and our players can describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Media {
    /// `video` or `audio`.
    codec_type: &'static str,
    /// Milliseconds: the FLV tag's timestamp (the decoding time).
    timestamp: u32,
    /// The codec payload's size: the FLV tag body less its AVC (5 bytes) or AAC (2 bytes)
    /// header, as ffprobe counts it.
    size: usize,
    keyframe: bool,
}

/// What a player saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    /// Media other than sequence headers and the end of sequence (which ffprobe does not
    /// list as packets).
    Media(Media),
    Status(String),
    StreamEof,
    StreamBegin,
    /// Sequence headers, metadata, other events.
    Other,
}

fn video(timestamp: u32, payload: &Bytes) -> Seen {
    let info = VideoInfo::parse(payload).expect("H.264 video");
    if info.is_sequence_header() || info.is_sequence_end() {
        return Seen::Other;
    }
    Seen::Media(Media {
        codec_type: "video",
        timestamp,
        size: payload.len().saturating_sub(5),
        keyframe: info.is_keyframe(),
    })
}

fn audio(timestamp: u32, payload: &Bytes) -> Seen {
    let info = AudioInfo::parse(payload).expect("AAC audio");
    if info.is_sequence_header() {
        return Seen::Other;
    }
    Seen::Media(Media {
        codec_type: "audio",
        timestamp,
        size: payload.len().saturating_sub(2),
        keyframe: false,
    })
}

fn seen(event: &ClientEvent) -> Seen {
    match event {
        ClientEvent::Video {
            timestamp, payload, ..
        } => video(*timestamp, payload),
        ClientEvent::Audio {
            timestamp, payload, ..
        } => audio(*timestamp, payload),
        ClientEvent::Status { status, .. } => Seen::Status(status.code.clone()),
        ClientEvent::StreamEof { .. } => Seen::StreamEof,
        ClientEvent::StreamBegin { .. } => Seen::StreamBegin,
        _ => Seen::Other,
    }
}

fn media(seen: &[Seen]) -> Vec<Media> {
    seen.iter()
        .filter_map(|seen| match seen {
            Seen::Media(media) => Some(media.clone()),
            _ => None,
        })
        .collect()
}

fn status(code: &str) -> Seen {
    Seen::Status(code.to_owned())
}

/// Everything after the first `marker` (which must be there).
fn after<'a>(seen: &'a [Seen], marker: &Seen) -> &'a [Seen] {
    let at = seen
        .iter()
        .position(|s| s == marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {seen:?}"));
    &seen[at + 1..]
}

/// Everything before the first `marker` (which must be there).
fn before<'a>(seen: &'a [Seen], marker: &Seen) -> &'a [Seen] {
    let at = seen
        .iter()
        .position(|s| s == marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {seen:?}"));
    &seen[..at]
}

/// The clip's packets in file order, which is the order nginx-rtmp sends them in.
struct Clip {
    packets: Vec<Media>,
}

impl Clip {
    fn make(dir: &std::path::Path) -> Clip {
        let path = dir.join("clip.flv");
        make_seekable_clip(&path, CLIP_SECONDS, 50);
        let packets = probe_packets(path.to_str().unwrap())
            .into_iter()
            .map(|packet| Media {
                codec_type: if packet.codec_type == "video" {
                    "video"
                } else {
                    "audio"
                },
                timestamp: u32::try_from(packet.dts).expect("a timestamp"),
                size: packet.size,
                keyframe: packet.flags.contains('K') && packet.codec_type == "video",
            })
            .collect::<Vec<_>>();
        assert!(
            packets.len() > 2000,
            "the clip has only {} packets",
            packets.len()
        );
        Clip { packets }
    }

    /// Where `received` starts in the clip; asserts that it is the clip's packets from there,
    /// in order, none missing.
    fn position_of(&self, received: &[Media], what: &str) -> usize {
        let first = received
            .first()
            .unwrap_or_else(|| panic!("no media {what}"));
        let start = self
            .packets
            .iter()
            .position(|packet| packet == first)
            .unwrap_or_else(|| panic!("{first:?} ({what}) is not one of the clip's packets"));
        let expected = &self.packets[start..(start + received.len()).min(self.packets.len())];
        assert_eq!(
            received, expected,
            "{what}: not the clip's packets in order"
        );
        start
    }

    /// Asserts that `received` ends with the clip's last packets, in order.
    fn reaches_the_end(&self, received: &[Media]) {
        let tail = received.len().min(50);
        assert!(tail > 0, "no media before the end");
        assert_eq!(
            &received[received.len() - tail..],
            &self.packets[self.packets.len() - tail..],
            "the last packets played are not the clip's last"
        );
    }

    /// Asserts that `received` continues the clip right after `previous` (nothing lost or
    /// reordered in between); returns where it ends.
    fn continues(&self, previous_end: usize, received: &[Media], what: &str) -> usize {
        let expected = &self.packets[previous_end..previous_end + received.len()];
        assert_eq!(received, expected, "{what}: does not continue the clip");
        previous_end + received.len()
    }
}

/// The checks of one pause: media up to Pause.Notify continue the clip, and none after it.
/// Returns the last timestamp played and where in the clip that was.
fn check_paused(clip: &Clip, end: usize, until_notify: &[Seen], window: &[Seen]) -> (u32, usize) {
    let in_flight = media(before(until_notify, &status("NetStream.Pause.Notify")));
    let end = clip.continues(end, &in_flight, "media sent before the pause took effect");
    let during = media(window);
    assert!(
        during.is_empty(),
        "media arrived while paused: {:?}...",
        &during[..during.len().min(3)]
    );
    (clip.packets[end - 1].timestamp, end)
}

/// The checks of a resume: Unpause.Notify, then the clip again from a keyframe (or the
/// file's start) at or after `last_start` and no later than `paused_at`. Returns where the
/// received media ends in the clip.
fn check_resumed(clip: &Clip, seen: &[Seen], last_start: u32, paused_at: u32) -> usize {
    let resumed = media(after(seen, &status("NetStream.Unpause.Notify")));
    let start = clip.position_of(&resumed, "after Unpause.Notify");
    let first_video = resumed
        .iter()
        .find(|m| m.codec_type == "video")
        .expect("video after the resume");
    assert!(
        first_video.keyframe,
        "resumed on a frame that is not a keyframe: {first_video:?}"
    );
    // nginx-rtmp starts the file again from the last play or seek start, not from where
    // it paused: anything in between is fine, what matters is that media flows again and is
    // the file's.
    let resumed_at = clip.packets[start].timestamp;
    assert!(
        resumed_at + 100 >= last_start && resumed_at <= paused_at,
        "resumed at {resumed_at} ms: not between {last_start} and {paused_at} ms"
    );
    start + resumed.len()
}

/// The checks of a seek to `target`: the in-flight media continue the clip; Stream EOF,
/// Seek.Notify and Stream Begin come in that order; then the clip from a keyframe near
/// `target`. Returns the keyframe's timestamp and where the received media ends in the clip.
fn check_seeked(clip: &Clip, end: usize, seen: &[Seen], target: u32) -> (u32, usize) {
    let controls: Vec<&Seen> = seen
        .iter()
        .filter(|s| !matches!(s, Seen::Media(_) | Seen::Other))
        .collect();
    assert_eq!(
        controls,
        [
            &Seen::StreamEof,
            &status("NetStream.Seek.Notify"),
            &Seen::StreamBegin
        ],
        "what nginx-rtmp says when it seeks"
    );
    clip.continues(
        end,
        &media(before(seen, &Seen::StreamEof)),
        "media sent before the seek took effect",
    );
    let sought = media(after(seen, &Seen::StreamBegin));
    let first = sought.first().expect("media after the seek");
    assert!(
        first.codec_type == "video" && first.keyframe,
        "the seek did not land on a keyframe: {first:?}"
    );
    // nginx-rtmp lands on the first keyframe of the index strictly after the target (12.0 s
    // in the index, 12023 ms as a timestamp, for 10 s); a server landing on the keyframe at
    // or before it would be within a GOP below.
    assert!(
        first.timestamp + GOP_MS >= target && first.timestamp < target + 2 * GOP_MS,
        "the seek to {target} ms landed at {} ms",
        first.timestamp
    );
    let start = clip.position_of(&sought, "after the seek");
    (first.timestamp, start + sought.len())
}

/// Whether `seen` has at least `count` media after `marker`.
fn has_media_after(seen: &[Seen], marker: &Seen, count: usize) -> bool {
    seen.iter()
        .position(|s| s == marker)
        .is_some_and(|at| media(&seen[at..]).len() >= count)
}

fn ends_with(seen: &[Seen], marker: &Seen) -> bool {
    seen.last() == Some(marker)
}

mod tokio_player {
    use super::*;
    use rtmp_tokio::client::{Client, ClientOptions, ClientSettings, Frame, Player};
    use rtmp_tokio::Error;

    /// Takes events until `done` says so; each must come within [`PATIENCE`].
    pub async fn until(
        player: &mut Player,
        what: &str,
        done: impl Fn(&[Seen]) -> bool,
    ) -> Vec<Seen> {
        let mut seen = Vec::new();
        while !done(&seen) {
            let event = tokio::time::timeout(PATIENCE, player.client().next_event())
                .await
                .unwrap_or_else(|_| panic!("waiting for {what}: nothing for {PATIENCE:?}"))
                .unwrap_or_else(|error| panic!("waiting for {what}: {error}"));
            assert!(
                !matches!(event, ClientEvent::Closed(_)),
                "the connection ended while waiting for {what}: {event:?}"
            );
            seen.push(super::seen(&event));
        }
        seen
    }

    /// Everything that arrives within `window`.
    pub async fn during(player: &mut Player, window: Duration) -> Vec<Seen> {
        let deadline = tokio::time::Instant::now() + window;
        let mut seen = Vec::new();
        while let Ok(Ok(event)) =
            tokio::time::timeout_at(deadline, player.client().next_event()).await
        {
            seen.push(super::seen(&event));
        }
        seen
    }

    /// Pauses, checks that media stops, resumes and checks that playback starts again at
    /// `resumes_at`; returns the position after what was checked.
    async fn pause_and_resume(
        player: &mut Player,
        clip: &Clip,
        end: usize,
        resumes_at: u32,
    ) -> Result<usize, Error> {
        player.pause().await?;
        let paused = until(player, "Pause.Notify", |seen| {
            ends_with(seen, &status("NetStream.Pause.Notify"))
        })
        .await;
        let window = during(player, PAUSE_WINDOW).await;
        let (paused_at, _) = check_paused(clip, end, &paused, &window);
        player.resume().await?;
        let resumed = until(player, "media after Unpause.Notify", |seen| {
            has_media_after(seen, &status("NetStream.Unpause.Notify"), 50)
        })
        .await;
        Ok(check_resumed(clip, &resumed, resumes_at, paused_at))
    }

    pub async fn play_pause_resume_seek(app_url: &str, clip: &Clip) -> Result<(), Error> {
        let mut player = Client::connect(app_url).await?.play("clip.flv").await?;

        // The start, through the Player's own frames.
        let mut played = Vec::new();
        let mut metadata = None;
        while played
            .iter()
            .all(|seen| !matches!(seen, Seen::Media(m) if m.timestamp >= GOP_MS))
        {
            let frame = tokio::time::timeout(PATIENCE, player.next_frame())
                .await
                .expect("a frame within the patience")?
                .expect("the file goes on");
            played.push(match &frame {
                Frame::Video { timestamp, payload } => video(*timestamp, payload),
                Frame::Audio { timestamp, payload } => audio(*timestamp, payload),
                Frame::Metadata(value) => {
                    metadata = Some(value.clone());
                    Seen::Other
                }
                _ => Seen::Other,
            });
        }
        let code = player.last_status().map(|status| status.code.as_str());
        assert_eq!(code, Some("NetStream.Play.Start"));
        let duration = metadata
            .as_ref()
            .and_then(|metadata| metadata.get("duration"))
            .and_then(Value::as_f64);
        assert!(
            duration.is_some_and(|d| (d - f64::from(CLIP_SECONDS)).abs() < 1.0),
            "{metadata:?}"
        );
        let start = media(&played);
        assert_eq!(clip.position_of(&start, "from the start"), 0);
        let end = start.len();

        // Pause, then resume: nginx-rtmp plays the file again from its start.
        let end = pause_and_resume(&mut player, clip, end, 0).await?;

        // Seek.
        player.seek(SEEK_TO_MS).await?;
        let sought = until(&mut player, "media after the seek", |seen| {
            has_media_after(seen, &Seen::StreamBegin, 50)
        })
        .await;
        let (landed_at, end) = check_seeked(clip, end, &sought, SEEK_TO_MS);

        // Pause and resume again: playback starts again after the seek's keyframe.
        pause_and_resume(&mut player, clip, end, landed_at).await?;

        // To the end of the file, through the Player's frames: they end at the Stream EOF.
        player.seek(NEAR_THE_END_MS).await?;
        let mut last = Vec::new();
        loop {
            let frame = tokio::time::timeout(PATIENCE, player.next_frame())
                .await
                .expect("a frame or the end within the patience")?;
            match frame {
                Some(Frame::Video { timestamp, payload }) => last.push(video(timestamp, &payload)),
                Some(Frame::Audio { timestamp, payload }) => last.push(audio(timestamp, &payload)),
                Some(_) => {}
                None => break,
            }
        }
        clip.reaches_the_end(&media(&last));
        // The frames end at the Stream EOF that nginx-rtmp sends at the end of the file; the
        // statuses it sends after it are still among the connection's events.
        let after = until(&mut player, "Play.Complete", |seen| {
            seen.contains(&status("NetStream.Play.Complete"))
        })
        .await;
        assert!(
            after.iter().all(|seen| !matches!(seen, Seen::Media(_))),
            "no media after the end: {after:?}"
        );

        player.close().await
    }

    /// Calls `name` on nginx-rtmp, which answers no command it does not know.
    pub async fn unanswered_call(app_url: &str, name: &str) -> Error {
        let options = ClientOptions::default()
            .with_settings(ClientSettings::default().with_request_timeout(Duration::from_secs(2)));
        let mut client = Client::connect_with(app_url, options)
            .await
            .expect("connect to nginx");
        let error = client
            .call(name, vec![Value::String("clip.flv".into())])
            .await
            .expect_err("nginx-rtmp answers nothing");
        let _ = client.close().await;
        error
    }
}

mod std_player {
    use super::*;
    use rtmp_std::client::{Client, ClientOptions, Frame, Player};
    use rtmp_std::Error;

    /// Takes events until `done` says so; each must come within [`PATIENCE`].
    pub fn until(player: &mut Player, what: &str, done: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
        let mut seen = Vec::new();
        while !done(&seen) {
            let event = player
                .client()
                .next_event_timeout(PATIENCE)
                .unwrap_or_else(|error| panic!("waiting for {what}: {error}"))
                .unwrap_or_else(|| panic!("waiting for {what}: nothing for {PATIENCE:?}"));
            assert!(
                !matches!(event, ClientEvent::Closed(_)),
                "the connection ended while waiting for {what}: {event:?}"
            );
            seen.push(super::seen(&event));
        }
        seen
    }

    /// Everything that arrives within `window`.
    pub fn during(player: &mut Player, window: Duration) -> Vec<Seen> {
        let deadline = std::time::Instant::now() + window;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return seen;
            }
            match player.client().next_event_timeout(left) {
                Ok(Some(event)) => seen.push(super::seen(&event)),
                Ok(None) => return seen,
                Err(error) => panic!("while paused: {error}"),
            }
        }
    }

    /// As the tokio player's: pauses, resumes, checks both; the position after them.
    fn pause_and_resume(
        player: &mut Player,
        clip: &Clip,
        end: usize,
        resumes_at: u32,
    ) -> Result<usize, Error> {
        player.pause()?;
        let paused = until(player, "Pause.Notify", |seen| {
            ends_with(seen, &status("NetStream.Pause.Notify"))
        });
        let window = during(player, PAUSE_WINDOW);
        let (paused_at, _) = check_paused(clip, end, &paused, &window);
        player.resume()?;
        let resumed = until(player, "media after Unpause.Notify", |seen| {
            has_media_after(seen, &status("NetStream.Unpause.Notify"), 50)
        });
        Ok(check_resumed(clip, &resumed, resumes_at, paused_at))
    }

    pub fn play_pause_resume_seek(app_url: &str, clip: &Clip) -> Result<(), Error> {
        let options = ClientOptions::default().with_read_timeout(Some(PATIENCE));
        let mut player = Client::connect_with(app_url, options)?.play("clip.flv")?;

        // The start, through the Player's own frames, statuses among them.
        let mut played = Vec::new();
        while played
            .iter()
            .all(|seen| !matches!(seen, Seen::Media(m) if m.timestamp >= GOP_MS))
        {
            let frame = player.next_frame()?.expect("the file goes on");
            played.push(match &frame {
                Frame::Video { timestamp, payload } => video(*timestamp, payload),
                Frame::Audio { timestamp, payload } => audio(*timestamp, payload),
                Frame::Status(status) => Seen::Status(status.code.clone()),
                _ => Seen::Other,
            });
        }
        let start = media(&played);
        assert_eq!(clip.position_of(&start, "from the start"), 0);
        let end = start.len();

        let end = pause_and_resume(&mut player, clip, end, 0)?;

        // Seek, through the client's events to see the statuses in order.
        player.seek(SEEK_TO_MS)?;
        let sought = until(&mut player, "media after the seek", |seen| {
            has_media_after(seen, &Seen::StreamBegin, 50)
        });
        let (landed_at, end) = check_seeked(clip, end, &sought, SEEK_TO_MS);

        pause_and_resume(&mut player, clip, end, landed_at)?;

        // To the end of the file through the Player's frames alone: they go on past the
        // Stream EOF that nginx-rtmp sends before a seek's media.
        player.seek(NEAR_THE_END_MS)?;
        let mut last = Vec::new();
        while let Some(frame) = player.next_frame()? {
            if let Frame::Video { timestamp, payload } | Frame::Audio { timestamp, payload } =
                &frame
            {
                last.push(match frame {
                    Frame::Video { .. } => video(*timestamp, payload),
                    _ => audio(*timestamp, payload),
                });
            }
        }
        clip.reaches_the_end(&media(&last));
        player.close()
    }
}

#[test]
fn tokio_player_pauses_resumes_and_seeks_in_a_recording_on_nginx() {
    let dir = TempDir::new("controls-tokio");
    let clip = Clip::make(dir.path());
    let nginx = Nginx::start_with_vod(4096, dir.path());
    let app_url = format!("rtmp://127.0.0.1:{}/vod", nginx.port);
    runtime()
        .block_on(tokio_player::play_pause_resume_seek(&app_url, &clip))
        .expect("play the recording");
}

#[test]
fn nginx_leaves_unknown_calls_unanswered_and_the_tokio_call_gives_up() {
    let dir = TempDir::new("controls-nginx-call");
    let nginx = Nginx::start_with_vod(4096, dir.path());
    let app_url = format!("rtmp://127.0.0.1:{}/vod", nginx.port);
    let error = runtime().block_on(tokio_player::unanswered_call(&app_url, "getStreamLength"));
    assert!(
        matches!(error, rtmp_tokio::Error::Timeout { .. }),
        "{error}"
    );
}

#[test]
fn std_player_pauses_resumes_and_seeks_in_a_recording_on_nginx() {
    let dir = TempDir::new("controls-std");
    let clip = Clip::make(dir.path());
    let nginx = Nginx::start_with_vod(4096, dir.path());
    let app_url = format!("rtmp://127.0.0.1:{}/vod", nginx.port);
    std_player::play_pause_resume_seek(&app_url, &clip).expect("play the recording");
}

/// Our tokio server on 127.0.0.1 whose application answers `add` (the sum of its two
/// numbers) and refuses `forbidden`; the connection itself answers `getStreamLength`.
struct CallingServer {
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Why the application refuses `forbidden`.
const REFUSAL: &str = "not on this server";

impl CallingServer {
    fn start() -> CallingServer {
        let runtime = runtime();
        let mut config = ServerConnectionConfig::default();
        // Calls go to the application instead of being refused at once.
        config.options.call_answer_timeout = Some(PATIENCE);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let server = rtmp_tokio::server::Server::from_listener(listener, config);
        runtime.spawn(async move {
            while let Ok((session, _)) = server.accept().await {
                tokio::spawn(CallingServer::answer(session));
            }
        });
        CallingServer {
            port,
            runtime: Some(runtime),
        }
    }

    async fn answer(mut session: rtmp_tokio::server::ServerSession<tokio::net::TcpStream>) {
        loop {
            let Ok(event) = session.next_event().await else {
                return;
            };
            let answered = match event {
                ServerEvent::ConnectRequest(request) => session.accept_connect(request.id),
                ServerEvent::Call(call) => match (call.id, call.name.as_str()) {
                    (Some(id), "add") => {
                        let sum = call.arguments.iter().filter_map(Value::as_f64).sum();
                        session
                            .connection()
                            .respond_call(id, Value::Null, vec![Value::Number(sum)])
                    }
                    (Some(id), _) => session.connection().reject_call(id, REFUSAL),
                    (None, _) => Ok(()),
                },
                ServerEvent::Closed(_) => return,
                _ => Ok(()),
            };
            answered.expect("answer the client");
        }
    }

    fn url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/app", self.port)
    }
}

impl Drop for CallingServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

fn numbers(values: &[f64]) -> Vec<Value> {
    values.iter().copied().map(Value::Number).collect()
}

#[test]
fn tokio_client_calls_are_answered_or_refused_with_a_typed_error() {
    let server = CallingServer::start();
    runtime().block_on(async {
        let mut client = rtmp_tokio::client::Client::connect(&server.url())
            .await
            .expect("connect");
        let (command_object, values) = client
            .call("add", numbers(&[2.0, 3.5]))
            .await
            .expect("add is answered");
        assert_eq!((command_object, values), (Value::Null, numbers(&[5.5])));
        let (_, values) = client
            .call("getStreamLength", vec![Value::String("x".into())])
            .await
            .expect("getStreamLength is answered by the connection");
        assert_eq!(values, numbers(&[0.0]));
        match client.call("forbidden", Vec::new()).await {
            Err(rtmp_tokio::Error::Refused(rtmp_tokio::Refusal::CallFailed {
                code,
                description,
            })) => {
                assert_eq!(code, "NetConnection.Call.Failed");
                assert_eq!(description, REFUSAL);
            }
            other => panic!("forbidden: {other:?}"),
        }
        // The connection is still usable after a refused call.
        let (_, values) = client.call("add", numbers(&[1.0, 1.0])).await.unwrap();
        assert_eq!(values, numbers(&[2.0]));
        client.close().await.expect("a clean close");
    });
}

#[test]
fn std_client_calls_are_answered_or_refused_with_a_typed_error() {
    let server = CallingServer::start();
    let mut client = rtmp_std::client::Client::connect(&server.url()).expect("connect");
    let (command_object, values) = client
        .call("add", numbers(&[2.0, 3.5]))
        .expect("add is answered");
    assert_eq!((command_object, values), (Value::Null, numbers(&[5.5])));
    match client.call("forbidden", Vec::new()) {
        Err(rtmp_std::Error::Refused(rtmp_std::Refusal::CallFailed { code, description })) => {
            assert_eq!(code, "NetConnection.Call.Failed");
            assert_eq!(description, REFUSAL);
        }
        other => panic!("forbidden: {other:?}"),
    }
    let (_, values) = client.call("add", numbers(&[1.0, 1.0])).unwrap();
    assert_eq!(values, numbers(&[2.0]));
    client.close().expect("close politely");
}
