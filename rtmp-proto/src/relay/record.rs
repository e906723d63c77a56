//! Recording a published stream as FLV: what a driver writes for each batch, and the file's
//! name. The driver owns the file (and its errors); this decides the bytes.

use alloc::format;
use alloc::string::String;

use bytes::BytesMut;

use super::access::unsafe_file_name;
use super::frame::{Item, MediaKind};
use super::hub::StreamKey;
use crate::flv::{tag_type, FileHeader, Tag};
use crate::message::{Data, Message};

/// Turns a stream's items into FLV: [`start`](Self::start) once, then
/// [`write`](Self::write) for its join snapshot and each batch. Every track of every message
/// is kept as published (Enhanced RTMP and multitrack included); metadata becomes
/// `onMetaData`; other data messages are left out, as FFmpeg leaves them out.
#[derive(Debug, Default)]
pub struct FlvRecording {
    ended: bool,
}

impl FlvRecording {
    /// A recording not started yet.
    pub fn new() -> Self {
        FlvRecording::default()
    }

    /// Appends the file header (audio and video) to `out`.
    pub fn start(&mut self, out: &mut BytesMut) {
        let header = FileHeader {
            has_audio: true,
            has_video: true,
        };
        out.extend_from_slice(&header.to_bytes());
    }

    /// Appends the tags of `items` to `out`, up to the publisher's end; whether it ended.
    pub fn write(&mut self, items: &[Item], out: &mut BytesMut) -> bool {
        for item in items {
            if self.ended {
                break;
            }
            let tag = match item {
                Item::Media(frame) => Tag {
                    tag_type: match frame.kind {
                        MediaKind::Audio => tag_type::AUDIO,
                        MediaKind::Video => tag_type::VIDEO,
                    },
                    timestamp: frame.timestamp,
                    data: frame.payload.clone(),
                },
                Item::Metadata {
                    timestamp,
                    metadata,
                } => {
                    let message = Message::Data(Data::on_metadata(metadata.as_ref().clone()));
                    let Ok(raw) = message.to_raw(0, 0) else {
                        continue;
                    };
                    Tag {
                        tag_type: tag_type::SCRIPT_DATA,
                        timestamp: *timestamp,
                        data: raw.payload,
                    }
                }
                Item::Data { .. } | Item::Published => continue,
                Item::Unpublished | Item::NotFound => {
                    self.ended = true;
                    break;
                }
            };
            tag.write_to(out);
        }
        self.ended
    }

    /// Whether the publisher left.
    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

/// `NAME-YYYYMMDDTHHMMSSZ.flv`: the file a recording of `key` started at `unix_seconds`
/// (UTC) is written to, in a directory named `key.app`. `None` if the app or the name cannot
/// be a file name ([`unsafe_file_name`]; the hub refuses such publishes unless
/// [`HubConfig::check_names`](super::HubConfig::check_names) is off), so that no recording
/// is written outside its directory.
pub fn recording_file_name(key: &StreamKey, unix_seconds: u64) -> Option<String> {
    if unsafe_file_name(&key.app).is_some() || unsafe_file_name(&key.name).is_some() {
        return None;
    }
    let (days, seconds) = (unix_seconds / 86_400, unix_seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{}-{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z.flv",
        key.name,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    ))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_the_utc_start() {
        let key = StreamKey::new("live", "cam?key=1");
        let name = |seconds| recording_file_name(&key, seconds).expect("a safe name");
        assert_eq!(name(0), "cam-19700101T000000Z.flv");
        // 2026-12-06 14:05:09 UTC.
        assert_eq!(name(1_796_565_909), "cam-20261206T140509Z.flv");
        // 2000-02-29 23:59:59 UTC, a leap day.
        assert_eq!(name(951_868_799), "cam-20000229T235959Z.flv");
        for (app, name) in [("live", ".."), ("..", "cam"), ("", "cam"), ("live", "a\\b")] {
            let key = StreamKey {
                app: app.into(),
                name: name.into(),
            };
            assert_eq!(recording_file_name(&key, 0), None, "{key}");
        }
    }
}
