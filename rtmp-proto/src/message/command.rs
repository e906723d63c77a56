//! Command messages (RTMP 1.0 §7.1.1 and §7.2; types 20 and 17).

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

/// A command (RTMP 1.0 §7.1.1): a remote procedure call or its answer, such as `connect`,
/// `createStream`, `publish`, `_result`, `_error` or `onStatus`.
///
/// On the wire: the name (an AMF string), the transaction id (a number), the command object
/// (an object, or null when there is none), then any further arguments.
///
/// Decoding is lenient where real peers are: a command with only a name gets transaction id 0
/// and a null command object, and a command object may be any value. Encoding always writes
/// all three, so a decoded command re-encodes to one that decodes to the same value.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    /// The procedure name, e.g. `connect` or `_result`.
    pub name: String,
    /// Matches an answer to its request; 0 when no answer is expected (RTMP 1.0 §7.2).
    pub transaction_id: f64,
    /// The command object: an object of properties, or [`Value::Null`].
    pub command_object: Value,
    /// The values after the command object.
    pub arguments: Vec<Value>,
    /// Whether it travels as type 20 (AMF0) or type 17 (extended).
    pub encoding: AmfEncoding,
}

impl Command {
    /// Name of a successful answer (RTMP 1.0 §7.2.1.1).
    pub const RESULT: &'static str = "_result";
    /// Name of a failed answer (RTMP 1.0 §7.2.1.1).
    pub const ERROR: &'static str = "_error";
    /// Name of a status notification (RTMP 1.0 §7.2.2).
    pub const ON_STATUS: &'static str = "onStatus";

    /// A command sent as AMF0 (type 20).
    pub fn new(
        name: impl Into<String>,
        transaction_id: f64,
        command_object: Value,
        arguments: Vec<Value>,
    ) -> Self {
        Command {
            name: name.into(),
            transaction_id,
            command_object,
            arguments,
            encoding: AmfEncoding::Amf0,
        }
    }

    /// A `_result` answering the request with `transaction_id` (RTMP 1.0 §7.2.1.1).
    pub fn result(transaction_id: f64, command_object: Value, arguments: Vec<Value>) -> Self {
        Command::new(Self::RESULT, transaction_id, command_object, arguments)
    }

    /// An `_error` answering the request with `transaction_id` (RTMP 1.0 §7.2.1.1).
    pub fn error(transaction_id: f64, command_object: Value, arguments: Vec<Value>) -> Self {
        Command::new(Self::ERROR, transaction_id, command_object, arguments)
    }

    /// An `onStatus` with transaction id 0, a null command object and the info object
    /// (RTMP 1.0 §7.2.2).
    pub fn on_status(info: Value) -> Self {
        Command::new(Self::ON_STATUS, 0.0, Value::Null, alloc::vec![info])
    }

    /// The same command with another encoding.
    pub fn with_encoding(self, encoding: AmfEncoding) -> Self {
        Command { encoding, ..self }
    }

    /// The argument at `index` (0 is the first value after the command object).
    pub fn argument(&self, index: usize) -> Option<&Value> {
        self.arguments.get(index)
    }

    /// The property `key` of the command object, if it is an object or an ECMA array (the
    /// first property of that name, as the AMF0 wire order gives it).
    pub fn command_object_property(&self, key: &str) -> Option<&Value> {
        let properties = match &self.command_object {
            Value::Object(object) => &object.properties,
            Value::EcmaArray(entries) => entries,
            _ => return None,
        };
        properties
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    pub(super) fn decode(
        payload: &[u8],
        encoding: AmfEncoding,
        limits: &Limits,
    ) -> Result<Command, MessageError> {
        let id = match encoding {
            AmfEncoding::Amf0 => type_id::COMMAND_AMF0,
            AmfEncoding::Amf3 => type_id::COMMAND_AMF3,
        };
        let body = strip_format_selector(id, payload, encoding)?;
        let mut budget = Budget::new(limits);
        let mut values = decode_values(body, limits, &mut budget)?.into_iter();
        let name = match values.next() {
            Some(Value::String(name)) => name,
            Some(_) => return Err(MessageError::CommandNameNotString),
            None => return Err(MessageError::MissingCommandName),
        };
        let transaction_id = match values.next() {
            None => 0.0,
            Some(Value::Number(number)) => number,
            Some(Value::Integer(integer)) => f64::from(integer),
            Some(_) => return Err(MessageError::TransactionIdNotNumber),
        };
        let command_object = values.next().unwrap_or(Value::Null);
        Ok(Command {
            name,
            transaction_id,
            command_object,
            arguments: values.collect(),
            encoding,
        })
    }

    pub(super) fn encode(&self) -> Result<Bytes, MessageError> {
        let mut out = BytesMut::new();
        put_format_selector(&mut out, self.encoding);
        let name = Value::String(self.name.clone());
        let transaction_id = Value::Number(self.transaction_id);
        encode_values(
            &mut out,
            [&name, &transaction_id, &self.command_object]
                .into_iter()
                .chain(&self.arguments),
        )?;
        Ok(out.freeze())
    }
}
