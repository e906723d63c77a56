//! FLV files in and out of RTMP streams: publish a file (paced in real time or as fast as the
//! server takes it), and record what a player receives. The format is
//! [`rtmp_proto::flv`]'s; this module only reads and writes the bytes.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant as StdInstant};

use bytes::BytesMut;
use rtmp_proto::flv::{tag_type, FileHeader, FlvReader, Tag};
use rtmp_proto::message::{Data, Message};
use rtmp_proto::{Limits, RawMessage};

use crate::client::{Frame, Publisher};
use crate::{Error, Transport};

/// Bytes read from the file at a time.
const READ_SIZE: usize = 64 * 1024;

/// What [`publish_flv`] sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishedCounts {
    /// Audio tags sent.
    pub audio: usize,
    /// Video tags sent.
    pub video: usize,
    /// Script data tags sent (metadata and others).
    pub data: usize,
    /// Tags skipped: script data that does not decode, unknown tag types.
    pub skipped: usize,
}

/// Publishes the FLV file read from `file` on `publisher`: audio, video, and script data
/// (`onMetaData` as the stream's metadata). With `real_time`, each tag is sent when its
/// timestamp is due, as `ffmpeg -re` does, and the connection is driven (pings answered)
/// while waiting; otherwise tags go as fast as the server takes them.
pub fn publish_flv<R: Read, S: Transport>(
    file: &mut R,
    publisher: &mut Publisher<S>,
    real_time: bool,
) -> Result<PublishedCounts, Error> {
    let mut reader = FlvReader::new();
    let mut buffer = BytesMut::new();
    let mut counts = PublishedCounts::default();
    let started = StdInstant::now();
    let mut first_timestamp = None;
    loop {
        let Some(tag) = reader.read_tag(&mut buffer)? else {
            if read_more(file, &mut buffer)? == 0 {
                break;
            }
            continue;
        };
        if real_time {
            let first = *first_timestamp.get_or_insert(tag.timestamp);
            let due = started + Duration::from_millis(u64::from(tag.timestamp.wrapping_sub(first)));
            let now = StdInstant::now();
            if due > now {
                publisher.wait(due - now)?;
            }
        }
        match tag.tag_type {
            tag_type::AUDIO => {
                let _ = publisher.send_audio(tag.timestamp, tag.data)?;
                counts.audio += 1;
            }
            tag_type::VIDEO => {
                let _ = publisher.send_video(tag.timestamp, tag.data)?;
                counts.video += 1;
            }
            tag_type::SCRIPT_DATA => {
                let raw = RawMessage {
                    timestamp: tag.timestamp,
                    type_id: tag_type::SCRIPT_DATA,
                    stream_id: 0,
                    payload: tag.data,
                };
                match Message::decode(&raw, &Limits::default()) {
                    Ok(Message::Data(data)) => {
                        let _ = match data.metadata() {
                            Some(metadata) => publisher.send_metadata(metadata.clone())?,
                            None => publisher.send_data(tag.timestamp, data)?,
                        };
                        counts.data += 1;
                    }
                    _ => counts.skipped += 1,
                }
            }
            _ => counts.skipped += 1,
        }
    }
    publisher.client().flush()?;
    Ok(counts)
}

/// Appends up to [`READ_SIZE`] bytes of `file` to `buffer`; returns how many (0 at the end).
fn read_more<R: Read>(file: &mut R, buffer: &mut BytesMut) -> io::Result<usize> {
    let start = buffer.len();
    buffer.resize(start + READ_SIZE, 0);
    let result = loop {
        match file.read(&mut buffer[start..]) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    let count = *result.as_ref().unwrap_or(&0);
    buffer.truncate(start + count);
    result
}

/// Writes the frames a player receives as an FLV file.
pub struct FlvRecorder<W: Write> {
    writer: W,
}

impl<W: Write> FlvRecorder<W> {
    /// Starts a file on `writer` (the header says it has audio and video). Give it a
    /// `BufWriter` for a file: each tag is three writes.
    pub fn new(mut writer: W) -> Result<Self, Error> {
        let header = FileHeader {
            has_audio: true,
            has_video: true,
        };
        writer.write_all(&header.to_bytes())?;
        Ok(FlvRecorder { writer })
    }

    /// Appends `frame` as a tag: audio, video, and metadata as `onMetaData`. Other data
    /// messages and statuses are left out, as FFmpeg leaves them out.
    pub fn write(&mut self, frame: &Frame) -> Result<(), Error> {
        let tag = match frame {
            Frame::Audio { timestamp, payload } => Tag {
                tag_type: tag_type::AUDIO,
                timestamp: *timestamp,
                data: payload.clone(),
            },
            Frame::Video { timestamp, payload } => Tag {
                tag_type: tag_type::VIDEO,
                timestamp: *timestamp,
                data: payload.clone(),
            },
            Frame::Metadata(metadata) => {
                let payload = Message::Data(Data::on_metadata(metadata.clone()))
                    .encode_payload()
                    .map_err(|error| Error::Session(error.into()))?;
                Tag {
                    tag_type: tag_type::SCRIPT_DATA,
                    timestamp: 0,
                    data: payload,
                }
            }
            _ => return Ok(()),
        };
        let (header, trailer) = tag.framing();
        self.writer.write_all(&header)?;
        self.writer.write_all(&tag.data)?;
        self.writer.write_all(&trailer)?;
        Ok(())
    }

    /// Flushes the file and returns the writer.
    pub fn finish(mut self) -> Result<W, Error> {
        self.writer.flush()?;
        Ok(self.writer)
    }
}
