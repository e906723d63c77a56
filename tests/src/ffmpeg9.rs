//! FFmpeg 9 as a peer: the first FFmpeg here that speaks Enhanced RTMP (HEVC, AV1, VP9 and
//! Opus in FLV, and multitrack). Debian's FFmpeg 5.1 predates it, so this is the static build
//! that the PyPI wheel `imageio-ffmpeg` ships (x264, x265, SVT-AV1, libvpx, Opus); `.ci/run`
//! installs it with `python3 -m pip install imageio-ffmpeg`. The wheel has no ffprobe, so
//! packets are listed with ffmpeg's `framemd5` muxer instead ([`tracks`]).
//!
//! What FFmpeg 9 (n9.0.2) does, as seen on the wire:
//!
//! - Publishing a multitrack FLV (`-map 0 -c copy -f flv rtmp://...`; without `-map 0` ffmpeg
//!   picks one video and one audio stream and sends no multitrack at all), the first video
//!   and the first audio stream go in legacy single-track form, `17 00`/`17 01`/`27 01`
//!   (AVC) and `AF 00`/`AF 01` (AAC). Every further stream goes as a Multitrack packet of type
//!   OneTrack with its track id: video `96 00 "avc1" 01 ...` for the sequence start, then
//!   `96 03 "avc1" 01 ...` / `A6 03 "avc1" 01 ...` for key / inter frames (first byte: ExHeader
//!   bit, frame type 1 or 2, packet type 6 = Multitrack; second byte: OneTrack in the high
//!   nibble, the inner packet type in the low one, here 3 = CodedFramesX); audio
//!   `95 00 "mp4a" 01 ...` (sequence start), once `95 04 "mp4a" 01 ...` (MultichannelConfig),
//!   then `95 01 "mp4a" 01 ...` (coded frames; sound format 9 = ExHeader, packet type 5 =
//!   Multitrack). An FLV file written by FFmpeg 9 has the same tags. At the end FFmpeg sends
//!   one end-of-sequence `17 02 00 00 00` per video stream, all of them in legacy form (so
//!   that of track 1 looks like a second one of track 0).
//! - Its connect commands announce no Enhanced RTMP capability. A player's connect is byte for
//!   byte that of FFmpeg 5.1: `app`, `flashVer` "LNX 9,0,124,2", `tcUrl`, `fpad`,
//!   `capabilities` 15, `audioCodecs` 4071, `videoCodecs` 252, `videoFunction` 1: no
//!   `fourCcList`, `capsEx` nor `*FourCcInfoMap` (the `-rtmp_enhanced_codecs` option exists
//!   for publishing only). A publisher's connect (`app`, `type`, `flashVer`, `tcUrl`) has a
//!   `fourCcList` only when given `-rtmp_enhanced_codecs`; without it, it still publishes
//!   HEVC, AV1 and VP9 with Opus in Enhanced RTMP form.
//! - Playing, it records whatever tracks arrive: legacy tags and OneTrack packets alike.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::peers::Process;
use crate::peers_more::made_once;

/// The path of FFmpeg 9 (imageio-ffmpeg's `get_ffmpeg_exe()`), or a panic saying how to
/// install it: a missing peer fails the test, it never skips it.
pub fn ffmpeg9() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND.get_or_init(find_ffmpeg9).clone()
}

fn find_ffmpeg9() -> PathBuf {
    const INSTALL: &str = "python3 -m pip install imageio-ffmpeg (bash .ci/run does)";
    let output = Process::spawn(
        "python3 (find imageio-ffmpeg)",
        Command::new("python3").args([
            "-c",
            "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())",
        ]),
    )
    .wait(Duration::from_secs(30));
    assert!(
        output.status.success(),
        "FFmpeg 9 (imageio-ffmpeg) is not installed: {INSTALL}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    assert!(
        path.is_file(),
        "imageio-ffmpeg names {}, which is not a file: {INSTALL}",
        path.display()
    );
    // IMAGEIO_FFMPEG_EXE may point elsewhere, at an FFmpeg without multitrack, say.
    let version = Process::spawn("ffmpeg 9 (version)", Command::new(&path).arg("-version"))
        .wait(Duration::from_secs(30));
    let text = String::from_utf8_lossy(&version.stdout);
    let major = text
        .strip_prefix("ffmpeg version ")
        .map(|rest| rest.trim_start_matches('n'))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse::<u32>().ok());
    assert!(
        major.is_some_and(|major| major >= 8),
        "{} is not FFmpeg 8 or later (multitrack FLV needs it): {}",
        path.display(),
        text.lines().next().unwrap_or_default()
    );
    path
}

/// The test clips: about 4 s of a 320x180 test pattern at 25 fps, a keyframe every second
/// (25 frames), and a tone, each made once per machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clip {
    /// HEVC (x265, with B-frames: composition times) and AAC.
    HevcAac,
    /// AV1 (SVT-AV1, its fastest preset) and Opus.
    Av1Opus,
    /// VP9 (libvpx, realtime) and Opus.
    Vp9Opus,
    /// Two H.264 video tracks (320x180 `testsrc`, 160x90 `testsrc2`) and two AAC audio tracks
    /// (440 Hz at 48 kHz, 880 Hz at 44.1 kHz), in this order in the file: the first of each
    /// kind is FLV track 0 (legacy form), the second track 1 (Multitrack OneTrack packets).
    Multitrack,
}

/// Length of every clip, in seconds.
pub const CLIP_SECONDS: u32 = 4;

impl Clip {
    /// The single-track Enhanced RTMP clips.
    pub const ENHANCED: [Clip; 3] = [Clip::HevcAac, Clip::Av1Opus, Clip::Vp9Opus];

    /// A short name, for stream names and labels.
    pub fn name(self) -> &'static str {
        match self {
            Clip::HevcAac => "hevc-aac",
            Clip::Av1Opus => "av1-opus",
            Clip::Vp9Opus => "vp9-opus",
            Clip::Multitrack => "multitrack",
        }
    }

    /// The clip's FLV file, made by FFmpeg 9 the first time it is asked for on this machine.
    pub fn path(self) -> PathBuf {
        let ffmpeg = ffmpeg9();
        let mut recipe = vec![ffmpeg.display().to_string()];
        recipe.extend(self.arguments());
        made_once(&format!("{}.flv", self.name()), &recipe, |out| {
            let output = Process::spawn(
                "ffmpeg 9 (make a clip)",
                Command::new(&ffmpeg)
                    // SVT-AV1 prints its banner unless told to say errors only.
                    .env("SVT_LOG", "1")
                    .args(self.arguments())
                    .arg(out),
            )
            .wait(Duration::from_secs(60));
            assert!(
                output.status.success(),
                "FFmpeg 9 could not make the {} clip: {}",
                self.name(),
                String::from_utf8_lossy(&output.stderr)
            );
        })
    }

    /// FFmpeg's arguments but the output file.
    fn arguments(self) -> Vec<String> {
        let seconds = CLIP_SECONDS;
        let pattern = |source: &str, size: &str| {
            ["-f", "lavfi", "-i"]
                .map(String::from)
                .into_iter()
                .chain([format!("{source}=size={size}:rate=25:duration={seconds}")])
        };
        let tone = |frequency: u32, rate: u32| {
            ["-f", "lavfi", "-i"]
                .map(String::from)
                .into_iter()
                .chain([format!(
                    "sine=frequency={frequency}:sample_rate={rate}:duration={seconds}"
                )])
        };
        let mut arguments: Vec<String> = ["-hide_banner", "-loglevel", "error", "-y"]
            .map(String::from)
            .into();
        arguments.extend(pattern("testsrc", "320x180"));
        if self == Clip::Multitrack {
            arguments.extend(pattern("testsrc2", "160x90"));
        }
        arguments.extend(tone(440, 48000));
        if self == Clip::Multitrack {
            arguments.extend(tone(880, 44100));
        }
        let codecs: &[&str] = match self {
            Clip::HevcAac => &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "log-level=error:keyint=25:min-keyint=25:scenecut=0",
                "-c:a",
                "aac",
            ],
            Clip::Av1Opus => &[
                "-c:v",
                "libsvtav1",
                "-preset",
                "12",
                "-g",
                "25",
                "-c:a",
                "libopus",
            ],
            Clip::Vp9Opus => &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-b:v",
                "300k",
                "-g",
                "25",
                "-keyint_min",
                "25",
                "-c:a",
                "libopus",
            ],
            Clip::Multitrack => &[
                "-map",
                "0:v",
                "-map",
                "1:v",
                "-map",
                "2:a",
                "-map",
                "3:a",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-g",
                "25",
                "-sc_threshold",
                "0",
                "-c:a",
                "aac",
            ],
        };
        arguments.extend(codecs.iter().map(|s| s.to_string()));
        arguments.extend(
            [
                "-pix_fmt",
                "yuv420p",
                "-b:a",
                "64k",
                "-shortest",
                "-f",
                "flv",
            ]
            .map(String::from),
        );
        arguments
    }
}

/// `FFMPEG -re -i CLIP -map 0 -c copy -f flv URL` with FFmpeg 9: publishes every stream of
/// `clip` in real time.
pub fn publish_every_track(clip: &Path, url: &str) -> Process {
    Process::spawn(
        "ffmpeg 9 (publish)",
        Command::new(ffmpeg9())
            .args(["-hide_banner", "-loglevel", "error", "-re", "-i"])
            .arg(clip)
            .args(["-map", "0", "-c", "copy", "-f", "flv"])
            .arg(url),
    )
}

/// `FFMPEG -i URL -map 0 -c copy -flush_packets 1 -f flv OUT` with the given `ffmpeg` (FFmpeg 9,
/// or Debian's 5.1): plays `url` and writes every stream it finds, not only the one video and
/// one audio stream that ffmpeg picks by default, so a track that should not have come shows.
pub fn play_every_track(ffmpeg: &Path, label: &str, url: &str, out: &Path) -> Process {
    Process::spawn(
        label,
        Command::new(ffmpeg)
            .args(["-hide_banner", "-loglevel", "error"])
            .args(["-rw_timeout", "15000000", "-i"])
            .arg(url)
            .args([
                "-map",
                "0",
                "-c",
                "copy",
                "-flush_packets",
                "1",
                "-f",
                "flv",
            ])
            .arg(out),
    )
}

/// One packet of a [`Track`], as FFmpeg 9's demuxer gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackPacket {
    /// Decoding timestamp, in the track's time base (milliseconds in FLV).
    pub dts: i64,
    /// Presentation timestamp.
    pub pts: i64,
    /// Size in bytes.
    pub size: usize,
    /// MD5 of the packet's data (what follows the FLV tag's audio/video header).
    pub md5: String,
    /// A keyframe (every audio packet is one).
    pub key: bool,
}

/// One stream of a file, as FFmpeg 9's demuxer numbers and describes it.
#[derive(Clone, Debug)]
pub struct Track {
    /// The stream's index in the file: the order in which the demuxer met the tracks.
    pub index: usize,
    /// `video` or `audio`.
    pub media_type: String,
    /// FFmpeg's codec name: `h264`, `hevc`, `av1`, `vp9`, `aac`, `opus`.
    pub codec: String,
    /// MD5 of the codec configuration (the sequence header's record), or empty if none.
    pub extradata: String,
    /// Every packet, in file order.
    pub packets: Vec<TrackPacket>,
}

impl Track {
    /// How the track is described in messages.
    pub fn describe(&self) -> String {
        format!(
            "stream {} ({} {}, configuration {}, {} packets)",
            self.index,
            self.media_type,
            self.codec,
            self.extradata,
            self.packets.len()
        )
    }
}

/// Every track of `file` and its packets, with FFmpeg 9 (no ffprobe needed):
/// `ffmpeg -i FILE -map 0 -c copy -f framemd5 -` lists each stream's packets, and a second run
/// through the `noise` bitstream filter dropping all but keyframes
/// (`-bsf noise=drop=not(key)`) says which are keyframes.
pub fn tracks(file: &Path) -> Vec<Track> {
    let mut tracks = framemd5(file, &[]);
    let keys = framemd5(file, &["-bsf", "noise=drop=not(key)"]);
    assert_eq!(
        keys.len(),
        tracks.len(),
        "{}: the keyframe listing has other streams",
        file.display()
    );
    for (track, keys) in tracks.iter_mut().zip(keys) {
        let keys: HashSet<(i64, String)> =
            keys.packets.into_iter().map(|p| (p.dts, p.md5)).collect();
        for packet in &mut track.packets {
            packet.key = keys.contains(&(packet.dts, packet.md5.clone()));
        }
    }
    tracks
}

/// Runs the `framemd5` muxer over `file`'s streams (copied, after `options`) and parses it.
fn framemd5(file: &Path, options: &[&str]) -> Vec<Track> {
    let output = Process::spawn(
        "ffmpeg 9 (framemd5)",
        Command::new(ffmpeg9())
            .args(["-hide_banner", "-loglevel", "error", "-i"])
            .arg(file)
            .args(["-map", "0", "-c", "copy"])
            .args(options)
            .args(["-f", "framemd5", "-"]),
    )
    .wait(Duration::from_secs(60));
    assert!(
        output.status.success(),
        "FFmpeg 9 cannot list the packets of {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    parse_framemd5(&String::from_utf8_lossy(&output.stdout))
}

/// Parses `framemd5` output (format version 2): `#extradata N, SIZE, MD5`, `#media_type N:
/// TYPE` and `#codec_id N: NAME` header lines, then `N, DTS, PTS, DURATION, SIZE, MD5` per
/// packet.
fn parse_framemd5(text: &str) -> Vec<Track> {
    let mut tracks: Vec<Track> = Vec::new();
    fn track(tracks: &mut Vec<Track>, index: usize) -> &mut Track {
        while tracks.len() <= index {
            tracks.push(Track {
                index: tracks.len(),
                media_type: String::new(),
                codec: String::new(),
                extradata: String::new(),
                packets: Vec::new(),
            });
        }
        &mut tracks[index]
    }
    for line in text.lines() {
        if let Some(header) = line.strip_prefix('#') {
            // "extradata 0, 38, MD5" or "media_type 0: video".
            let Some((key, rest)) = header.split_once(' ') else {
                continue;
            };
            let Some((index, value)) = rest.split_once([',', ':']) else {
                continue;
            };
            let Ok(index) = index.trim().parse::<usize>() else {
                continue;
            };
            let value = value.trim();
            match key {
                "extradata" => {
                    let md5 = value.rsplit(',').next().unwrap_or_default().trim();
                    track(&mut tracks, index).extradata = md5.to_string();
                }
                "media_type" => track(&mut tracks, index).media_type = value.to_string(),
                "codec_id" => track(&mut tracks, index).codec = value.to_string(),
                _ => {}
            }
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() < 6 {
            continue;
        }
        let number = |i: usize| {
            fields[i]
                .parse::<i64>()
                .unwrap_or_else(|_| panic!("a framemd5 line with no number: {line}"))
        };
        let index = usize::try_from(number(0)).expect("a stream index");
        let packet = TrackPacket {
            dts: number(1),
            pts: number(2),
            size: usize::try_from(number(4)).expect("a packet size"),
            md5: fields[5].to_string(),
            key: false,
        };
        track(&mut tracks, index).packets.push(packet);
    }
    tracks
}

/// Checks that `received` (a player's file, listed by [`tracks`]) holds exactly the sent
/// tracks `wanted` (indices into `sent`, the published clip's tracks), each packet for packet,
/// and returns where each received track starts in the sent one (0: from the first packet;
/// more: the receiver joined mid-stream).
///
/// Received streams are numbered in the order the player met them, so a sent track is found
/// by its content: the received track of the same media type and codec whose first packet is
/// one of the sent track's; there must be no received track besides the wanted ones. For each
/// track, what is compared:
///
/// - the codec configuration (the sequence header's record), but for VP9: FFmpeg's FLV muxer
///   writes a VP9 configuration record (and colour metadata) of its own making, from the codec
///   parameters its demuxer derived, so a player's file need not hold the bytes that were sent
///   (seen: matrix coefficients 2 sent, 0 written) even when the relay passed them unchanged;
/// - the received packets are one contiguous run of the sent track's packets, in order, with
///   the same data (MD5 and size), keyframe flags and composition offsets (pts - dts): nothing
///   dropped, added, reordered or altered in between, which is what a relay owes a player;
/// - the run ends at the sent track's end, or at most `tail` packets before it (ffmpeg may
///   leave the last few of a track in its interleaving queue when it stops), but it may start
///   anywhere: a receiver that joined mid-stream starts where the relay started it;
/// - a video track's run starts on a keyframe: a joining player must not get frames it
///   cannot decode;
/// - all tracks are shifted in time by one and the same offset (a player may rebase its
///   timestamps, but the relay must keep the tracks' timing relative to each other).
///
/// A packet can occur twice in a track (a steady tone's AAC frames repeat), so every start
/// that fits is tried, and the tracks must agree on one offset between them.
pub fn assert_same_tracks(
    sent: &[Track],
    wanted: &[usize],
    received: &[Track],
    tail: usize,
) -> Vec<usize> {
    let list = |tracks: &[Track]| {
        tracks
            .iter()
            .map(|t| format!("\n  {}", t.describe()))
            .collect::<String>()
    };
    assert_eq!(
        received.len(),
        wanted.len(),
        "received {} tracks, wanted {} of the sent ones;\nsent:{}\nreceived:{}",
        received.len(),
        wanted.len(),
        list(sent),
        list(received)
    );
    assert!(!wanted.is_empty(), "no tracks wanted");
    // Per wanted track: the starts that fit, each with its time offset.
    let mut fits: Vec<Vec<(usize, i64)>> = Vec::new();
    let mut matched = HashSet::new();
    for &index in wanted {
        let sent_track = &sent[index];
        let matching: Vec<&Track> = received
            .iter()
            .filter(|r| {
                r.media_type == sent_track.media_type
                    && r.codec == sent_track.codec
                    && r.packets
                        .first()
                        .is_some_and(|first| sent_track.packets.iter().any(|p| p.md5 == first.md5))
            })
            .collect();
        let [got] = matching.as_slice() else {
            panic!(
                "{} received tracks start with a packet of sent {};\nsent:{}\nreceived:{}",
                matching.len(),
                sent_track.describe(),
                list(sent),
                list(received)
            );
        };
        assert!(
            matched.insert(got.index),
            "received {} is like two of the sent tracks",
            got.describe()
        );
        if sent_track.codec != "vp9" {
            assert_eq!(
                got.extradata,
                sent_track.extradata,
                "received {} has another codec configuration than sent {}",
                got.describe(),
                sent_track.describe()
            );
        }
        let (s, r) = (&sent_track.packets, &got.packets);
        assert!(
            r.len() <= s.len(),
            "received more packets than sent {}: {}",
            sent_track.describe(),
            got.describe()
        );
        if sent_track.media_type == "video" {
            assert!(
                r[0].key,
                "received {} starts on a packet that is not a keyframe: {:?}",
                got.describe(),
                r[0]
            );
        }
        let latest = s.len() - r.len();
        let earliest = latest.saturating_sub(tail);
        let same = |a: &TrackPacket, b: &TrackPacket| {
            a.md5 == b.md5 && a.size == b.size && a.key == b.key && a.pts - a.dts == b.pts - b.dts
        };
        let starts: Vec<(usize, i64)> = (earliest..=latest)
            .filter_map(|start| {
                let offset = r[0].pts - s[start].pts;
                let fits = r.iter().zip(&s[start..]).all(|(got, sent)| {
                    same(sent, got) && got.pts - sent.pts == offset && got.dts - sent.dts == offset
                });
                fits.then_some((start, offset))
            })
            .collect();
        if starts.is_empty() {
            panic!(
                "received {} is no run of sent {} ending within {tail} packets of its end: {}",
                got.describe(),
                sent_track.describe(),
                first_difference(s, r)
            );
        }
        fits.push(starts);
    }
    let offsets: Vec<i64> = fits[0].iter().map(|&(_, offset)| offset).collect();
    let common = offsets.into_iter().find(|offset| {
        fits.iter()
            .all(|starts| starts.iter().any(|&(_, o)| o == *offset))
    });
    let Some(offset) = common else {
        panic!(
            "each track is a run of the sent one, but their timing differs: \
             (start, received pts - sent pts) per track: {fits:?}"
        );
    };
    fits.iter()
        .map(|starts| {
            starts
                .iter()
                .find(|&&(_, o)| o == offset)
                .map(|&(start, _)| start)
                .expect("the common offset")
        })
        .collect()
}

/// Where `received` first departs from `sent`, aligned on its first packet's data.
fn first_difference(sent: &[TrackPacket], received: &[TrackPacket]) -> String {
    let Some(start) = sent.iter().position(|p| p.md5 == received[0].md5) else {
        return format!(
            "its first packet is none of the sent ones: {:?}",
            received[0]
        );
    };
    let length = received.len().min(sent.len() - start);
    match (0..length).find(|&i| sent[start + i].md5 != received[i].md5) {
        Some(i) => format!(
            "aligned on sent packet {start}, received packet {i} differs: sent {:?}, received {:?}",
            sent[start + i],
            received[i]
        ),
        None => format!(
            "aligned on sent packet {start}, the data agree for {length} packets \
             (of {} received, {} sent): timing, flags or the end differ; \
             first sent {:?}, first received {:?}",
            received.len(),
            sent.len(),
            sent[start],
            received[0]
        ),
    }
}

/// What FFmpeg 9 says when decoding every frame of every stream of `path` (empty if all
/// decode cleanly): [`decode_errors`](crate::peers_more::decode_errors) for files FFmpeg 5.1
/// cannot read.
pub fn decode_errors9(path: &Path) -> String {
    let output = Process::spawn(
        "ffmpeg 9 (decode)",
        Command::new(ffmpeg9())
            .args(["-hide_banner", "-loglevel", "error", "-i"])
            .arg(path)
            .args(["-map", "0", "-f", "null", "-"]),
    )
    .wait(Duration::from_secs(60));
    let mut errors = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        errors.push_str(&format!("\nexit status {}", output.status));
    }
    errors
}
