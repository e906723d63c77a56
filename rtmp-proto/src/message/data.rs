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
