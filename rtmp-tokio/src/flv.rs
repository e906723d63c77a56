//! FLV files in and out of RTMP streams: publish a file (paced in real time or as fast as the
//! server takes it), and record what a player receives. The format is
//! [`rtmp_proto::flv`]'s; this module only reads and writes the bytes.

use std::time::Duration;

use bytes::BytesMut;
use rtmp_proto::flv::{tag_type, FileHeader, FlvReader, Tag};
use rtmp_proto::message::{Data, Message};
use rtmp_proto::Limits;
use rtmp_proto::RawMessage;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::client::{Frame, Publisher};
use crate::Error;

/// What [`publish_flv`] sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishedCounts {
    /// Audio tags sent.
    pub audio: usize,
    /// Video tags sent.
    pub video: usize,
    /// Script data tags sent (metadata and others).
    pub data: usize,
}

/// Publishes the FLV file read from `file` on `publisher`: audio, video, and script data
/// (`onMetaData` as the stream's metadata). With `real_time`, each tag is sent when its
/// timestamp is due, as `ffmpeg -re` does; otherwise as fast as the server takes them.
pub async fn publish_flv<R, S>(
    file: &mut R,
    publisher: &mut Publisher<S>,
    real_time: bool,
) -> Result<PublishedCounts, Error>
where
    R: AsyncRead + Unpin,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut reader = FlvReader::new();
    let mut buffer = BytesMut::with_capacity(64 * 1024);
    let mut counts = PublishedCounts::default();
    let started = tokio::time::Instant::now();
    let mut first_timestamp = None;
    loop {
        let Some(tag) = reader.read_tag(&mut buffer)? else {
            buffer.reserve(64 * 1024);
            if file.read_buf(&mut buffer).await? == 0 {
                break;
            }
            continue;
        };
        if real_time {
            let first = *first_timestamp.get_or_insert(tag.timestamp);
            let due = Duration::from_millis(u64::from(tag.timestamp.wrapping_sub(first)));
            tokio::time::sleep_until(started + due).await;
        }
        match tag.tag_type {
            tag_type::AUDIO => {
                let _ = publisher.send_audio(tag.timestamp, tag.data).await?;
                counts.audio += 1;
            }
            tag_type::VIDEO => {
                let _ = publisher.send_video(tag.timestamp, tag.data).await?;
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
                            Some(metadata) => publisher.send_metadata(metadata.clone()).await?,
                            None => publisher.send_data(tag.timestamp, data).await?,
                        };
                        counts.data += 1;
                    }
                    _ => tracing::debug!("skipping an unreadable script data tag"),
                }
            }
            other => tracing::debug!(tag_type = other, "skipping an unknown FLV tag"),
        }
    }
    publisher.flush().await?;
    Ok(counts)
}

/// Writes the frames a player receives as an FLV file.
pub struct FlvRecorder<W> {
    writer: W,
}

impl<W: AsyncWrite + Unpin> FlvRecorder<W> {
    /// Starts a file on `writer` (the header says it has audio and video).
    pub async fn new(mut writer: W) -> Result<Self, Error> {
        let header = FileHeader {
            has_audio: true,
            has_video: true,
        };
        writer.write_all(&header.to_bytes()).await?;
        Ok(FlvRecorder { writer })
    }

    /// Appends `frame` as a tag: audio, video, and metadata as `onMetaData`. Other data
    /// messages are left out, as FFmpeg leaves them out.
    pub async fn write(&mut self, frame: &Frame) -> Result<(), Error> {
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
                let message = Message::Data(Data::on_metadata(metadata.clone()));
                let raw = message
                    .to_raw(0, 0)
                    .map_err(|error| Error::Session(error.into()))?;
                Tag {
                    tag_type: tag_type::SCRIPT_DATA,
                    timestamp: 0,
                    data: raw.payload,
                }
            }
            _ => return Ok(()),
        };
        let (header, trailer) = tag.framing();
        self.writer.write_all(&header).await?;
        self.writer.write_all(&tag.data).await?;
        self.writer.write_all(&trailer).await?;
        Ok(())
    }

    /// Flushes the file and returns the writer.
    pub async fn finish(mut self) -> Result<W, Error> {
        self.writer.flush().await?;
        Ok(self.writer)
    }
}
