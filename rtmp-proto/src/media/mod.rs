//! What audio and video message payloads say about themselves: codec, keyframe, sequence
//! header (legacy FLV tag headers, FLV spec Annex E.4.2/E.4.3, and Enhanced RTMP v1/v2).
//!
//! Being written; see the issue for the tokio adapter's relay server.
