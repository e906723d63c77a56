//! Real conversations recorded on loopback (tests/scripts/make-captures.sh): ffmpeg publishing to
//! nginx-rtmp, ffmpeg and rtmpdump playing from it. Our chunk decoder must read every direction
//! message for message, whatever the read sizes, and the media must be the clip's, frame for frame.

use bytes::{Bytes, BytesMut};
use rtmp_proto::flv::{tag_type, FlvReader, Tag};
use rtmp_proto::message::Message;
use rtmp_proto::{chunk::ChunkDecoder, type_id, Limits, RawMessage, Value};

/// C0+C1+C2 (or S0+S1+S2): 1 + 1536 + 1536 bytes precede the chunk stream in each direction.
const HANDSHAKE_LEN: usize = 1 + 1536 + 1536;

fn fixture(name: &str) -> Bytes {
    let path = format!("{}/fixtures/captures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into()
}

fn clip_tags() -> Vec<Tag> {
    let mut file = BytesMut::from(&fixture("clip.flv")[..]);
    let mut reader = FlvReader::new();
    let mut tags = Vec::new();
    while let Some(tag) = reader.read_tag(&mut file).expect("clip.flv is valid FLV") {
        tags.push(tag);
    }
    assert!(file.is_empty());
    tags
}

/// Decodes one direction of a capture, feeding the decoder `read_size` bytes at a time.
fn decode_direction(capture: &Bytes, read_size: usize, zero_copy: bool) -> Vec<RawMessage> {
    let mut decoder = ChunkDecoder::new(Limits::default());
    let mut messages = Vec::new();
    let mut offset = HANDSHAKE_LEN;
    while offset < capture.len() {
        let end = (offset + read_size).min(capture.len());
        if zero_copy {
            let mut input = capture.slice(offset..end);
            while let Some(message) = decoder
                .decode_bytes(&mut input)
                .expect("valid chunk stream")
            {
                messages.push(message);
            }
            assert!(input.is_empty());
        } else {
            let mut input = &capture[offset..end];
            while let Some(message) = decoder.decode(&mut input).expect("valid chunk stream") {
                messages.push(message);
            }
            assert!(input.is_empty());
        }
        offset = end;
    }
    messages
}

/// Decodes a direction at several read sizes and checks that they all agree.
fn decode_capture(name: &str) -> Vec<RawMessage> {
    let capture = fixture(name);
    assert!(
        capture.len() > HANDSHAKE_LEN,
        "{name} holds more than the handshake"
    );
    let reference = decode_direction(&capture, capture.len(), false);
    for read_size in [1, 2, 3, 127, 128, 129, 4096, 16 * 1024] {
        for zero_copy in [false, true] {
            assert_eq!(
                decode_direction(&capture, read_size, zero_copy),
                reference,
                "{name}: read size {read_size}, zero copy {zero_copy}"
            );
        }
    }
    reference
}

/// Every message decoded by the message layer, which must accept all of them.
fn typed(messages: &[RawMessage]) -> Vec<Message> {
    messages
        .iter()
        .map(|raw| Message::decode(raw, &Limits::default()).expect("a valid message"))
        .collect()
}

/// The name of a command message.
fn command_name(message: &RawMessage) -> Option<String> {
    match Message::decode(message, &Limits::default()).expect("a valid message") {
        Message::Command(command) => Some(command.name),
        _ => None,
    }
}

fn commands(messages: &[RawMessage]) -> Vec<String> {
    messages.iter().filter_map(command_name).collect()
}

fn media(messages: &[RawMessage]) -> Vec<&RawMessage> {
    messages
        .iter()
        .filter(|m| m.type_id == type_id::AUDIO || m.type_id == type_id::VIDEO)
        .collect()
}

#[test]
fn ffmpeg_publish_to_nginx_carries_the_clip_frame_for_frame() {
    let client = decode_capture("ffmpeg-publish.c2s");
    assert_eq!(
        commands(&client),
        [
            "connect",
            "releaseStream",
            "FCPublish",
            "createStream",
            "publish",
            "FCUnpublish",
            "deleteStream"
        ]
    );
    let sent: Vec<(u8, u32, Bytes)> = media(&client)
        .into_iter()
        .map(|m| (m.type_id, m.timestamp, m.payload.clone()))
        .collect();
    let clip: Vec<(u8, u32, Bytes)> = clip_tags()
        .into_iter()
        .filter(|t| t.tag_type == tag_type::AUDIO || t.tag_type == tag_type::VIDEO)
        .map(|t| (t.tag_type, t.timestamp, t.data))
        .collect();
    assert!(!clip.is_empty());
    assert_eq!(sent, clip);

    // ffmpeg sends the clip's metadata as @setDataFrame("onMetaData", {...}).
    let metadata = typed(&client)
        .into_iter()
        .find_map(|m| match m {
            Message::Data(data) if data.is_set_data_frame() => data.metadata().cloned(),
            _ => None,
        })
        .expect("metadata was sent");
    assert_eq!(metadata.get("width").and_then(Value::as_f64), Some(64.0));
    assert_eq!(metadata.get("height").and_then(Value::as_f64), Some(48.0));

    let server = decode_capture("ffmpeg-publish.s2c");
    let server_commands = commands(&server);
    assert!(
        server_commands.starts_with(&["_result".to_string()]),
        "{server_commands:?}"
    );
    assert!(server_commands.iter().any(|c| c == "onStatus"));
    assert!(server.iter().any(|m| m.type_id == type_id::SET_CHUNK_SIZE));
}

fn assert_plays_the_clip(server_to_client: &str) {
    let server = decode_capture(server_to_client);
    typed(&server);
    let server_commands = commands(&server);
    assert!(
        server_commands.iter().any(|c| c == "onStatus"),
        "{server_commands:?}"
    );
    let played = media(&server);
    assert!(
        played.len() >= 5,
        "{server_to_client}: only {} media messages",
        played.len()
    );
    // nginx relays the looping publisher's frames unchanged: each is one of the clip's frames.
    let clip = clip_tags();
    for message in played {
        if message.payload.is_empty() {
            continue;
        }
        assert!(
            clip.iter()
                .any(|t| t.tag_type == message.type_id && t.data == message.payload),
            "{server_to_client}: a {}-byte message of type {} is not a frame of the clip",
            message.payload.len(),
            message.type_id
        );
    }
}

#[test]
fn ffmpeg_play_from_nginx_receives_the_clip() {
    let client = decode_capture("ffmpeg-play.c2s");
    let names = commands(&client);
    assert_eq!(names.first().map(String::as_str), Some("connect"));
    assert!(names.iter().any(|c| c == "play"), "{names:?}");
    assert_plays_the_clip("ffmpeg-play.s2c");
}

#[test]
fn rtmpdump_play_from_nginx_receives_the_clip() {
    let client = decode_capture("rtmpdump-play.c2s");
    let names = commands(&client);
    assert_eq!(names.first().map(String::as_str), Some("connect"));
    assert!(names.iter().any(|c| c == "play"), "{names:?}");
    assert_plays_the_clip("rtmpdump-play.s2c");
}
