//! Our client against our relay, in one process over loopback TCP: every frame published
//! reaches the players, late joiners start on a keyframe, a second publisher is refused, and a
//! player that stops reading is cut off without holding up the others.

use std::time::Duration;

use bytes::Bytes;
use rtmp_tokio::client::{Client, ClientOptions, ClientSettings, Frame, Player, Publisher};
use rtmp_tokio::proto::amf::{Object, Value};
use rtmp_tokio::proto::media::{VideoCodec, VideoFrameType, VideoInfo, VideoPacketType};
use rtmp_tokio::proto::message::Data;
use rtmp_tokio::proto::session::server::ServerEvent;
use rtmp_tokio::proto::session::SendStatus;
use rtmp_tokio::relay::{Relay, RelayConfig};
use rtmp_tokio::server::{Server, ServerSession};
use rtmp_tokio::{Error, Refusal};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

async fn start_relay(config: RelayConfig) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let relay = Relay::new(config);
    tokio::spawn(async move { relay.serve(listener).await });
    format!("rtmp://{address}/live")
}

async fn publisher(app_url: &str, name: &str) -> Result<Publisher, Error> {
    Client::connect_with(app_url, ClientOptions::publisher())
        .await?
        .publish(name)
        .await
}

async fn player(app_url: &str, name: &str) -> Player {
    Client::connect(app_url)
        .await
        .unwrap()
        .play(name)
        .await
        .unwrap()
}

/// A player of `name` at `app_url` (`rtmp://ADDRESS/live`) whose socket takes 4 KiB at a
/// time: the relay's writes to it soon find it full.
async fn player_with_a_tiny_window(app_url: &str, name: &str) -> Player<tokio::net::TcpStream> {
    let address = app_url
        .trim_start_matches("rtmp://")
        .trim_end_matches("/live")
        .parse()
        .unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(address).await.unwrap();
    Client::connect_over(stream, app_url, ClientOptions::default())
        .await
        .unwrap()
        .play(name)
        .await
        .unwrap()
}

/// A publisher's queue never drops: its sends wait for the network instead.
fn not_dropped(status: SendStatus) {
    assert_ne!(status, SendStatus::DroppedVideo);
}

fn video_header() -> Bytes {
    Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f])
}

fn audio_header() -> Bytes {
    Bytes::from_static(&[0xAF, 0, 0x12, 0x10])
}

/// A video frame whose body says which frame it is.
fn video(index: u32, key: bool, size: usize) -> Bytes {
    let mut payload = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0];
    payload.extend_from_slice(&index.to_be_bytes());
    payload.resize(size.max(9), index as u8);
    Bytes::from(payload)
}

fn audio(index: u32) -> Bytes {
    let mut payload = vec![0xAF, 1];
    payload.extend_from_slice(&index.to_be_bytes());
    Bytes::from(payload)
}

fn metadata() -> Value {
    Value::Object(Object::new().with("width", 160.0).with("height", 120.0))
}

/// Publishes `count` frames of each kind from `first` on, a keyframe every `gop`.
async fn send_frames<S: AsyncRead + AsyncWrite + Unpin + Send>(
    publisher: &mut Publisher<S>,
    first: u32,
    count: u32,
    gop: u32,
    size: usize,
) {
    for index in first..first + count {
        let timestamp = index * 40;
        not_dropped(
            publisher
                .send_video(timestamp, video(index, index % gop == 0, size))
                .await
                .unwrap(),
        );
        not_dropped(publisher.send_audio(timestamp, audio(index)).await.unwrap());
    }
    publisher.flush().await.unwrap();
}

/// Every frame until the end of the stream.
async fn collect<S: AsyncRead + AsyncWrite + Unpin + Send>(player: &mut Player<S>) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(frame) = timeout(LIMIT, player.next_frame()).await.unwrap().unwrap() {
        if !matches!(frame, Frame::Status(_)) {
            frames.push(frame);
        }
    }
    frames
}

/// The audio, video and metadata of `frames`: without data messages and statuses.
fn media(frames: Vec<Frame>) -> Vec<Frame> {
    frames
        .into_iter()
        .filter(|f| !matches!(f, Frame::Data { .. } | Frame::Status(_)))
        .collect()
}

fn expected(first: u32, count: u32, gop: u32, size: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    for index in first..first + count {
        let timestamp = index * 40;
        frames.push(Frame::Video {
            timestamp,
            payload: video(index, index % gop == 0, size),
        });
        frames.push(Frame::Audio {
            timestamp,
            payload: audio(index),
        });
    }
    frames
}

/// Compares audio, video and the rest each in their order (the connection's queue sends
/// audio before video queued at the same time), without printing megabytes of payload.
fn assert_frames_eq(got: &[Frame], wanted: &[Frame]) {
    let kind = |f: &Frame| match f {
        Frame::Audio { .. } => 0,
        Frame::Video { .. } => 1,
        _ => 2,
    };
    for k in 0..3 {
        let got: Vec<Frame> = got.iter().filter(|f| kind(f) == k).cloned().collect();
        let wanted: Vec<Frame> = wanted.iter().filter(|f| kind(f) == k).cloned().collect();
        assert_same_order(&got, &wanted);
    }
}

fn assert_same_order(got: &[Frame], wanted: &[Frame]) {
    let first_difference = got.iter().zip(wanted).position(|(a, b)| a != b);
    if let Some(i) = first_difference {
        let brief = |f: &Frame| match f {
            Frame::Audio { timestamp, payload } => {
                format!("audio {timestamp} {:?}", &payload[..payload.len().min(12)])
            }
            Frame::Video { timestamp, payload } => {
                format!("video {timestamp} {:?}", &payload[..payload.len().min(12)])
            }
            other => format!("{other:?}"),
        };
        panic!(
            "frame {i} differs: got {}, wanted {}",
            brief(&got[i]),
            brief(&wanted[i])
        );
    }
    assert_eq!(got.len(), wanted.len(), "frame counts differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_get_every_frame_in_order_then_unpublish_notify() {
    let url = start_relay(RelayConfig::default()).await;
    let mut early = player(&url, "a").await;
    let mut publisher = publisher(&url, "a").await.unwrap();
    not_dropped(publisher.send_metadata(metadata()).await.unwrap());
    not_dropped(publisher.send_video(0, video_header()).await.unwrap());
    not_dropped(publisher.send_audio(0, audio_header()).await.unwrap());
    send_frames(&mut publisher, 0, 100, 10, 3000).await;
    let text = Data::new(vec![Value::from("onTextData"), Value::from("hello")]);
    not_dropped(publisher.send_data(4000, text.clone()).await.unwrap());
    let receiving = tokio::spawn(async move {
        let frames = collect(&mut early).await;
        (frames, early.last_status().map(|s| s.code.clone()))
    });
    publisher.close().await.unwrap();
    let (frames, last_status) = receiving.await.unwrap();

    let mut wanted = vec![
        Frame::Metadata(metadata()),
        Frame::Video {
            timestamp: 0,
            payload: video_header(),
        },
        Frame::Audio {
            timestamp: 0,
            payload: audio_header(),
        },
    ];
    wanted.extend(expected(0, 100, 10, 3000));
    // |RtmpSampleAccess from the relay's accept, then the publisher's onTextData.
    let data: Vec<Data> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(data.last(), Some(&text));
    let frames = media(frames);
    assert_eq!(frames.len(), wanted.len());
    assert_frames_eq(&frames, &wanted);
    assert_eq!(
        last_status.as_deref(),
        Some("NetStream.Play.UnpublishNotify")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_player_starts_with_headers_and_the_current_gop() {
    let url = start_relay(RelayConfig::default()).await;
    let mut publisher = publisher(&url, "late").await.unwrap();
    not_dropped(publisher.send_metadata(metadata()).await.unwrap());
    not_dropped(publisher.send_video(0, video_header()).await.unwrap());
    not_dropped(publisher.send_audio(0, audio_header()).await.unwrap());
    // Frames 0..=24: the current GOP starts at the keyframe 20.
    send_frames(&mut publisher, 0, 25, 10, 500).await;
    // The relay has the frames once the publisher's connection delivered them: wait for a
    // round trip (the answer to a call) before joining.
    let _ = publisher.client().call("ping_relay", Vec::new()).await;
    let mut late = player(&url, "late").await;
    send_frames(&mut publisher, 25, 5, 10, 500).await;
    let receiving = tokio::spawn(async move { collect(&mut late).await });
    publisher.close().await.unwrap();
    let frames = media(receiving.await.unwrap());

    let mut wanted = vec![
        Frame::Metadata(metadata()),
        Frame::Video {
            timestamp: 0,
            payload: video_header(),
        },
        Frame::Audio {
            timestamp: 0,
            payload: audio_header(),
        },
    ];
    wanted.extend(expected(20, 10, 10, 500));
    assert_frames_eq(&frames, &wanted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_publisher_is_refused_until_the_first_leaves() {
    let url = start_relay(RelayConfig::default()).await;
    let first = publisher(&url, "busy").await.unwrap();
    match publisher(&url, "busy").await {
        Err(Error::Refused(Refusal::PublishRejected { code, .. })) => {
            assert_eq!(code, "NetStream.Publish.BadName")
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a second publisher was accepted"),
    }
    // Another name is free.
    let other = publisher(&url, "other").await.unwrap();
    other.close().await.unwrap();
    first.close().await.unwrap();
    // The name is free once the relay has seen the first publisher go.
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        match publisher(&url, "busy").await {
            Ok(again) => break again.close().await.unwrap(),
            Err(Error::Refused(Refusal::PublishRejected { .. }))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(error) => panic!("{error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_that_stops_reading_is_cut_off_and_others_get_everything() {
    let mut config = RelayConfig::default();
    // Room for a few of the publisher's batches (a quarter of the high-water mark each), so
    // that the good player, which a busy machine may leave unscheduled for a moment, does not
    // look congested.
    config.connection.session.outbound_high_water = 512 * 1024;
    config.connection.session.outbound_low_water = 128 * 1024;
    config.connection.session.outbound_max = 2 * 1024 * 1024;
    config.hub.max_behind = Duration::from_millis(300);
    let url = start_relay(config).await;

    // A player with a tiny receive window that never reads after Play.Start.
    let mut stuck = player_with_a_tiny_window(&url, "busy").await;
    let mut good = player(&url, "busy").await;
    let receiving = tokio::spawn(async move { collect(&mut good).await });

    let mut publisher = publisher(&url, "busy").await.unwrap();
    // 3 MB/s, which the good player takes in stride while the stuck one falls behind.
    let (count, size) = (300, 32 * 1024);
    for first in (0..count).step_by(2) {
        send_frames(&mut publisher, first, 2, 25, size).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    publisher.close().await.unwrap();
    let frames = receiving.await.unwrap();
    let frames = media(frames);
    assert_frames_eq(&frames, &expected(0, count, 25, size));

    // The stuck player gets what was in flight, then finds its connection closed.
    let mut received = 0;
    let outcome = loop {
        match timeout(LIMIT, stuck.next_frame()).await.unwrap() {
            Ok(Some(_)) => received += 1,
            other => break other,
        }
    };
    assert!(
        matches!(outcome, Err(Error::PeerClosed | Error::Io(_))),
        "{outcome:?}"
    );
    assert!(received < 2 * count, "received all {received} frames");
}

/// A player whose socket fills while it does not read: the relay's writes find it full (the
/// non-waiting write says so, and the polled one waits for room), then carry on once it
/// reads, with every frame whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_that_pauses_until_its_socket_fills_then_gets_every_frame() {
    let mut config = RelayConfig::default();
    config.hub.max_behind = Duration::from_secs(15);
    // All of it queued without thinning: the socket (up to 4 MiB of send buffer) fills first.
    config.connection.session.outbound_high_water = 32 * 1024 * 1024;
    config.connection.session.outbound_low_water = 8 * 1024 * 1024;
    config.connection.session.outbound_max = 64 * 1024 * 1024;
    let url = start_relay(config).await;
    let mut paused = player_with_a_tiny_window(&url, "pause").await;
    let mut publisher = publisher(&url, "pause").await.unwrap();
    // About 8 MB, more than the two sockets hold, below the queue's high-water mark.
    let (count, size) = (400, 20 * 1024);
    send_frames(&mut publisher, 0, count, 25, size).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let receiving = tokio::spawn(async move { collect(&mut paused).await });
    publisher.close().await.unwrap();
    let frames = media(receiving.await.unwrap());
    assert_frames_eq(&frames, &expected(0, count, 25, size));
}

/// The client's side of the same: a publisher whose socket fills while the server does not
/// read waits, then delivers every frame whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_whose_socket_fills_waits_then_delivers_every_frame() {
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtmp://{}/live", server.local_addr().unwrap());
    // About 8 MB: more than the publisher's socket and the server's receive window hold.
    let (count, size) = (400, 20 * 1024);
    let receiving = tokio::spawn(async move {
        let (mut session, _) = server.accept().await.unwrap();
        let mut frames = Vec::new();
        let mut paused = false;
        loop {
            match timeout(LIMIT, session.next_event()).await.unwrap() {
                Ok(ServerEvent::ConnectRequest(request)) => {
                    session.accept_connect(request.id).unwrap()
                }
                Ok(ServerEvent::PublishRequest(request)) => {
                    session.accept_publish(request.id).unwrap()
                }
                Ok(ServerEvent::Video {
                    timestamp, payload, ..
                }) => {
                    if !paused {
                        paused = true;
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    frames.push(Frame::Video { timestamp, payload });
                }
                Ok(ServerEvent::Audio {
                    timestamp, payload, ..
                }) => frames.push(Frame::Audio { timestamp, payload }),
                Ok(ServerEvent::Closed(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        frames
    });
    let mut publisher = publisher(&url, "cam").await.unwrap();
    send_frames(&mut publisher, 0, count, 25, size).await;
    publisher.close().await.unwrap();
    let frames = receiving.await.unwrap();
    assert_frames_eq(&frames, &expected(0, count, 25, size));
}

fn hevc(frame_type: VideoFrameType, packet_type: VideoPacketType, body: &[u8]) -> Bytes {
    VideoInfo::enhanced(frame_type, VideoCodec::Hevc, packet_type, 0, body)
        .to_bytes()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enhanced_rtmp_hevc_is_cached_and_relayed_like_h264() {
    let url = start_relay(RelayConfig::default()).await;
    let mut publisher = publisher(&url, "hevc").await.unwrap();
    let header = hevc(
        VideoFrameType::KeyFrame,
        VideoPacketType::SequenceStart,
        &[1, 1, 0x60],
    );
    let key = |i: u8| {
        hevc(
            VideoFrameType::KeyFrame,
            VideoPacketType::CodedFramesX,
            &[i],
        )
    };
    let inter = |i: u8| {
        hevc(
            VideoFrameType::InterFrame,
            VideoPacketType::CodedFramesX,
            &[i],
        )
    };
    not_dropped(publisher.send_video(0, header.clone()).await.unwrap());
    let sent = [key(0), inter(1), key(2), inter(3), inter(4)];
    for (i, payload) in sent.iter().enumerate() {
        not_dropped(
            publisher
                .send_video(i as u32 * 40, payload.clone())
                .await
                .unwrap(),
        );
    }
    let _ = publisher.client().call("ping_relay", Vec::new()).await;
    let mut late = player(&url, "hevc").await;
    let receiving = tokio::spawn(async move { collect(&mut late).await });
    publisher.close().await.unwrap();
    let video: Vec<Bytes> = receiving
        .await
        .unwrap()
        .into_iter()
        .filter_map(|frame| match frame {
            Frame::Video { payload, .. } => Some(payload),
            _ => None,
        })
        .collect();
    // The sequence header, then the GOP from the last keyframe.
    assert_eq!(video, [header, key(2), inter(3), inter(4)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_frame_is_cancel_safe() {
    let url = start_relay(RelayConfig::default()).await;
    let mut early = player(&url, "cancel").await;
    let receiving = tokio::spawn(async move {
        let mut frames = Vec::new();
        let mut cancelled = 0;
        let deadline = tokio::time::Instant::now() + LIMIT;
        // Poll with a timeout so short that most waits are cancelled midway.
        while tokio::time::Instant::now() < deadline {
            match timeout(Duration::from_micros(200), early.next_frame()).await {
                Ok(Ok(Some(frame))) => frames.push(frame),
                Ok(Ok(None)) => break,
                Ok(Err(error)) => panic!("{error}"),
                Err(_) => cancelled += 1,
            }
        }
        (frames, cancelled)
    });
    let mut publisher = publisher(&url, "cancel").await.unwrap();
    for first in (0..100).step_by(5) {
        send_frames(&mut publisher, first, 5, 10, 5000).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    publisher.close().await.unwrap();
    let (frames, cancelled) = receiving.await.unwrap();
    assert!(cancelled > 0, "no wait was cancelled");
    let frames = media(frames);
    assert_frames_eq(&frames, &expected(0, 100, 10, 5000));
}

#[tokio::test]
async fn a_refused_connect_says_who_refused_and_why() {
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtmp://{}/private", server.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut session, _) = server.accept().await.unwrap();
        loop {
            match session.next_event().await {
                Ok(ServerEvent::ConnectRequest(request)) => {
                    assert_eq!(request.app, "private");
                    session
                        .reject_connect(request.id, "No entry without a key.")
                        .unwrap();
                }
                Ok(ServerEvent::Closed(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    let error = Client::connect(&url)
        .await
        .err()
        .expect("a refused connect");
    assert_eq!(
        error.to_string(),
        "connection rejected: NetConnection.Connect.Rejected: No entry without a key."
    );
}

#[tokio::test]
async fn connecting_to_a_silent_server_times_out() {
    // Accepts and never answers the handshake.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtmp://{}/live", listener.local_addr().unwrap());
    let holding = tokio::spawn(async move { listener.accept().await });
    let options = ClientOptions::default()
        .with_settings(ClientSettings::default().with_connect_timeout(Duration::from_millis(300)));
    let error = Client::connect_with(&url, options).await.err().unwrap();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    assert!(
        error.to_string().starts_with("timed out after 300ms"),
        "{error}"
    );
    drop(holding);

    // Nothing listens: the error names the address.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = Client::connect(&format!("rtmp://127.0.0.1:{port}/live"))
        .await
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot connect to 127.0.0.1:{port}: ")),
        "{error}"
    );
    let error = Client::connect("http://example.invalid/")
        .await
        .err()
        .unwrap();
    assert!(matches!(error, Error::Url(_)), "{error}");
}

/// A connection to `relay` over an in-memory pipe that takes at most 61 bytes at a time: every
/// read and write is partial, and the stream cannot write vectored (like a TLS stream).
fn pipe_to(relay: &Relay) -> tokio::io::DuplexStream {
    let (ours, theirs) = tokio::io::duplex(61);
    let session = ServerSession::new(theirs, RelayConfig::default().connection);
    tokio::spawn(relay.clone().serve_connection(session));
    ours
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_byte_stream_works_even_one_that_takes_61_bytes_at_a_time() {
    // A 61-byte pipe holds no merge window's worth of media: the publisher's reads must not
    // be paced.
    let mut config = RelayConfig::default();
    config.merge_window = Duration::ZERO;
    let relay = Relay::new(config);
    let url = "rtmp://in-memory/live";
    let mut early = Client::connect_over(pipe_to(&relay), url, ClientOptions::default())
        .await
        .unwrap()
        .play("pipe")
        .await
        .unwrap();
    let receiving = tokio::spawn(async move { collect(&mut early).await });
    let mut publisher = Client::connect_over(pipe_to(&relay), url, ClientOptions::publisher())
        .await
        .unwrap()
        .publish("pipe")
        .await
        .unwrap();
    send_frames(&mut publisher, 0, 50, 10, 2000).await;
    publisher.close().await.unwrap();
    let frames = media(receiving.await.unwrap());
    assert_frames_eq(&frames, &expected(0, 50, 10, 2000));
}

/// Players that join while the publisher's frames are being read in paced batches get each
/// frame exactly once, from a keyframe on: the cache's snapshot and the batches after it
/// meet without a gap or an overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_joining_between_batches_get_every_frame_once() {
    joining_and_leaving_players_get_every_frame_once(Duration::from_millis(30)).await;
}

/// The same with each frame handed on as it is read: the publisher's task writes each frame
/// to the players itself, while players join and others hang up mid-stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_joining_and_leaving_frame_by_frame_get_every_frame_once() {
    joining_and_leaving_players_get_every_frame_once(Duration::ZERO).await;
}

async fn joining_and_leaving_players_get_every_frame_once(merge_window: Duration) {
    let mut config = RelayConfig::default();
    config.merge_window = merge_window;
    let url = start_relay(config).await;
    let mut publisher = publisher(&url, "joins").await.unwrap();
    let (count, gop) = (120, 10);
    let mut receivers = Vec::new();
    let mut leavers = Vec::new();
    for first in (0..count).step_by(5) {
        send_frames(&mut publisher, first, 5, gop, 700).await;
        if first % 20 == 5 {
            let mut late = player(&url, "joins").await;
            receivers.push((first, tokio::spawn(async move { collect(&mut late).await })));
        }
        if first % 20 == 15 {
            // Takes a few frames, then hangs up while the stream goes on.
            let mut leaving = player(&url, "joins").await;
            leavers.push(tokio::spawn(async move {
                for _ in 0..3 {
                    timeout(LIMIT, leaving.next_frame()).await.unwrap().unwrap();
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(7)).await;
    }
    for leaving in leavers {
        leaving.await.unwrap();
    }
    publisher.close().await.unwrap();
    assert!(receivers.len() >= 5);
    for (joined_after, receiving) in receivers {
        let video: Vec<u32> = receiving
            .await
            .unwrap()
            .into_iter()
            .filter_map(|frame| match frame {
                Frame::Video { timestamp, payload } if payload[1] == 1 => Some(timestamp / 40),
                _ => None,
            })
            .collect();
        let start = *video.first().expect("some video");
        assert_eq!(
            start % gop,
            0,
            "joined after {joined_after}: starts on a keyframe"
        );
        assert!(
            start <= joined_after + 5,
            "joined after {joined_after}: starts at {start}"
        );
        let wanted: Vec<u32> = (start..count).collect();
        assert_eq!(video, wanted, "joined after {joined_after}");
    }
}
