//! Data messages (RTMP 1.0 §7.1.2; types 18 and 15): metadata and other notifications.

use super::amf_values::{
    decode_values, encode_values, put_format_selector, strip_format_selector, Budget,
};
use super::{AmfEncoding, MessageError};
use crate::amf::Value;
use crate::raw::type_id;
use crate::Limits;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

/// A data message (RTMP 1.0 §7.1.2): a sequence of AMF values, by convention a handler name
/// followed by its arguments, e.g. `onMetaData` and the stream's metadata.
///
/// A publisher sends metadata as `@setDataFrame("onMetaData", metadata)`: the server is meant
/// to keep it and hand players `onMetaData(metadata)`; see [`Data::without_set_data_frame`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    /// The values, handler name first.
    pub values: Vec<Value>,
    /// Whether it travels as type 18 (AMF0) or type 15 (extended).
    pub encoding: AmfEncoding,
}

impl Data {
    /// The handler a publisher calls to set metadata on the server's copy of the stream.
    pub const SET_DATA_FRAME: &'static str = "@setDataFrame";
    /// The handler that carries stream metadata to players.
    pub const ON_METADATA: &'static str = "onMetaData";

    /// A data message sent as AMF0 (type 18).
    pub fn new(values: Vec<Value>) -> Self {
        Data {
            values,
            encoding: AmfEncoding::Amf0,
        }
    }

    /// `onMetaData(metadata)`, as a server sends it to players.
    pub fn on_metadata(metadata: Value) -> Self {
        Data::new(alloc::vec![
            Value::String(String::from(Self::ON_METADATA)),
            metadata
        ])
    }

    /// `@setDataFrame("onMetaData", metadata)`, as a publisher sends it.
    pub fn set_data_frame(metadata: Value) -> Self {
        Data::new(alloc::vec![
            Value::String(String::from(Self::SET_DATA_FRAME)),
            Value::String(String::from(Self::ON_METADATA)),
            metadata
        ])
    }

    /// The same message with another encoding.
    pub fn with_encoding(self, encoding: AmfEncoding) -> Self {
        Data { encoding, ..self }
    }

    /// The handler name: the first value, if it is a string.
    pub fn handler(&self) -> Option<&str> {
        match self.values.first() {
            Some(Value::String(name)) => Some(name),
            _ => None,
        }
    }

    /// The values after the first one.
    pub fn arguments(&self) -> &[Value] {
        self.values.get(1..).unwrap_or_default()
    }

    /// Whether this is a `@setDataFrame` call.
    pub fn is_set_data_frame(&self) -> bool {
        self.handler() == Some(Self::SET_DATA_FRAME)
    }

    /// The message without its leading `@setDataFrame`, so that
    /// `@setDataFrame("onMetaData", m)` becomes `onMetaData(m)`; any other message is returned
    /// unchanged.
    pub fn without_set_data_frame(mut self) -> Self {
        if self.is_set_data_frame() {
            self.values.remove(0);
        }
        self
    }

    /// The metadata of `onMetaData(m)` or `@setDataFrame("onMetaData", m)`: `m`, whatever its
    /// type (FFmpeg and OBS send an ECMA array, others an object).
    pub fn metadata(&self) -> Option<&Value> {
        let values = if self.is_set_data_frame() {
            self.values.get(1..)?
        } else {
            &self.values[..]
        };
        match values {
            [Value::String(name), metadata, ..] if name == Self::ON_METADATA => Some(metadata),
            _ => None,
        }
    }

    pub(super) fn decode(
        payload: &[u8],
        encoding: AmfEncoding,
        limits: &Limits,
    ) -> Result<Data, MessageError> {
        let id = match encoding {
            AmfEncoding::Amf0 => type_id::DATA_AMF0,
            AmfEncoding::Amf3 => type_id::DATA_AMF3,
        };
        let body = strip_format_selector(id, payload, encoding)?;
        let values = decode_values(body, limits, &mut Budget::new(limits))?;
        Ok(Data { values, encoding })
    }

    pub(super) fn encode(&self) -> Result<Bytes, MessageError> {
        let mut out = BytesMut::new();
        put_format_selector(&mut out, self.encoding);
        encode_values(&mut out, &self.values)?;
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::testing::{assert_round_trip, decode, hex, object, string};
    use crate::message::{Message, MessageError};
    use alloc::vec;

    /// FFmpeg's metadata when publishing, from `tests/fixtures/captures/ffmpeg-publish.c2s`.
    const FFMPEG_SET_DATA_FRAME: &str = "
        02 000d 40736574446174614672616d65
        02 000a 6f6e4d65746144617461
        08 0000000d
           0008 6475726174696f6e 00 0000000000000000
           0005 7769647468 00 4050000000000000
           0006 686569676874 00 4048000000000000
           000d 766964656f6461746172617465 00 4033880000000000
           0009 6672616d6572617465 00 4024000000000000
           000c 766964656f636f6465636964 00 401c000000000000
           000d 617564696f6461746172617465 00 4037700000000000
           000f 617564696f73616d706c6572617465 00 40d5888000000000
           000f 617564696f73616d706c6573697a65 00 4030000000000000
           0006 73746572656f 01 00
           000c 617564696f636f6465636964 00 4024000000000000
           0007 656e636f646572 02 000d 4c61766635392e32372e313030
           0008 66696c6573697a65 00 0000000000000000
           000009";

    fn decode_data(type_id: u8, bytes: &[u8]) -> Data {
        match decode(type_id, bytes) {
            Ok(Message::Data(data)) => data,
            other => panic!("not a data message: {other:?}"),
        }
    }

    #[test]
    fn unwraps_ffmpeg_set_data_frame() {
        let bytes = hex(FFMPEG_SET_DATA_FRAME);
        let data = decode_data(18, &bytes);
        assert!(data.is_set_data_frame());
        assert_eq!(data.handler(), Some(Data::SET_DATA_FRAME));
        let Some(Value::EcmaArray(entries)) = data.metadata() else {
            panic!("metadata is not an ECMA array: {:?}", data.metadata());
        };
        assert_eq!(entries.len(), 13);
        assert_eq!(entries[1], (String::from("width"), Value::Number(64.0)));
        assert_eq!(
            &Message::Data(data.clone()).encode_payload().unwrap()[..],
            &bytes[..]
        );

        let metadata = data.metadata().cloned();
        let unwrapped = data.without_set_data_frame();
        assert_eq!(unwrapped.handler(), Some(Data::ON_METADATA));
        assert!(!unwrapped.is_set_data_frame());
        assert_eq!(unwrapped.metadata().cloned(), metadata);
        assert_eq!(unwrapped.arguments().len(), 1);
        let raw = assert_round_trip(&Message::Data(unwrapped));
        assert_eq!(&raw.payload[..], &bytes[16..]);
    }

    #[test]
    fn metadata_constructors() {
        let metadata = object(&[("width", Value::Number(1280.0))]);
        let published = Data::set_data_frame(metadata.clone());
        assert_eq!(published.metadata(), Some(&metadata));
        assert_eq!(
            published.clone().without_set_data_frame(),
            Data::on_metadata(metadata.clone())
        );
        assert_round_trip(&Message::Data(published));
        let on_metadata = Data::on_metadata(metadata);
        assert_eq!(on_metadata.clone().without_set_data_frame(), on_metadata);
    }

    #[test]
    fn other_handlers_have_no_metadata() {
        // nginx-rtmp's |RtmpSampleAccess(true, true).
        let data = decode_data(
            18,
            &hex("02 0011 7c52746d7053616d706c65416363657373 0101 0101"),
        );
        assert_eq!(data.handler(), Some("|RtmpSampleAccess"));
        assert_eq!(
            data.arguments(),
            [Value::Boolean(true), Value::Boolean(true)]
        );
        assert_eq!(data.metadata(), None);
        let bare = Data::new(vec![string(Data::SET_DATA_FRAME), string("onCuePoint")]);
        assert_eq!(bare.metadata(), None);
        let no_handler = Data::new(vec![Value::Number(1.0)]);
        assert_eq!(no_handler.handler(), None);
        assert_eq!(Data::default().arguments(), []);
    }

    #[test]
    fn type_15_format_selector() {
        let body = hex("02 000a 6f6e4d65746144617461 05");
        let mut with_selector = vec![0];
        with_selector.extend_from_slice(&body);
        let data = decode_data(15, &with_selector);
        assert_eq!(data.encoding, AmfEncoding::Amf3);
        assert_eq!(data.values, [string("onMetaData"), Value::Null]);
        assert_eq!(decode_data(15, &body), data);
        let raw = assert_round_trip(&Message::Data(data));
        assert_eq!((raw.type_id, &raw.payload[..]), (15, &with_selector[..]));
        assert_eq!(
            decode(15, &[0x11, 0x04, 0x01]),
            Err(MessageError::UnknownFormatSelector {
                type_id: 15,
                selector: 0x11
            })
        );
    }

    #[test]
    fn empty_data_messages() {
        assert_eq!(decode_data(18, &[]), Data::new(Vec::new()));
        assert_eq!(decode_data(15, &[]).values, []);
        assert_eq!(decode_data(15, &[0]).values, []);
        assert_round_trip(&Message::Data(
            Data::default().with_encoding(AmfEncoding::Amf3),
        ));
    }

    #[test]
    fn truncated_values_are_amf_errors() {
        let bytes = hex(FFMPEG_SET_DATA_FRAME);
        assert!(matches!(
            decode(18, &bytes[..bytes.len() - 5]),
            Err(MessageError::Amf(_))
        ));
    }
}
