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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::testing::{assert_round_trip, decode, hex, object, string};
    use crate::message::Message;
    use alloc::vec;

    /// nginx-rtmp's answer to FFmpeg's connect, from `tests/fixtures/captures/ffmpeg-publish.s2c`.
    const CONNECT_RESULT: &str = "
        02 0007 5f726573756c74
        00 3ff0000000000000
        03 0006 666d73566572 02 000d 464d532f332c302c312c313233
           000c 6361706162696c6974696573 00 403f000000000000
           000009
        03 0005 6c6576656c 02 0006 737461747573
           0004 636f6465 02 001d 4e6574436f6e6e656374696f6e2e436f6e6e6563742e53756363657373
           000b 6465736372697074696f6e 02 0015 436f6e6e656374696f6e207375636365656465642e
           000e 6f626a656374456e636f64696e67 00 0000000000000000
           000009";

    /// FFmpeg's connect when publishing, from `tests/fixtures/captures/ffmpeg-publish.c2s`.
    const FFMPEG_CONNECT: &str = "
        02 0007 636f6e6e656374
        00 3ff0000000000000
        03 0003 617070 02 0004 6c697665
           0004 74797065 02 000a 6e6f6e70726976617465
           0008 666c617368566572 02 0024 464d4c452f332e302028636f6d70617469626c653b204c61766635392e32372e31303029
           0005 746355726c 02 001b 72746d703a2f2f3132372e302e302e313a31393335312f6c697665
           000009";

    fn connect_result() -> Command {
        Command::result(
            1.0,
            object(&[
                ("fmsVer", string("FMS/3,0,1,123")),
                ("capabilities", Value::Number(31.0)),
            ]),
            vec![object(&[
                ("level", string("status")),
                ("code", string("NetConnection.Connect.Success")),
                ("description", string("Connection succeeded.")),
                ("objectEncoding", Value::Number(0.0)),
            ])],
        )
    }

    #[test]
    fn connect_result_golden() {
        let message = Message::Command(connect_result());
        let raw = assert_round_trip(&message);
        assert_eq!(raw.type_id, 20);
        assert_eq!(&raw.payload[..], &hex(CONNECT_RESULT)[..]);
    }

    #[test]
    fn decodes_ffmpeg_connect() {
        let bytes = hex(FFMPEG_CONNECT);
        let Ok(Message::Command(command)) = decode(20, &bytes) else {
            panic!("not a command");
        };
        assert_eq!(command.name, "connect");
        assert_eq!(command.transaction_id, 1.0);
        assert_eq!(command.encoding, AmfEncoding::Amf0);
        assert_eq!(
            command.command_object_property("app"),
            Some(&string("live"))
        );
        assert_eq!(
            command.command_object_property("flashVer"),
            Some(&string("FMLE/3.0 (compatible; Lavf59.27.100)"))
        );
        assert_eq!(command.command_object_property("swfUrl"), None);
        assert!(command.arguments.is_empty());
        assert_eq!(command.argument(0), None);
        let encoded = Message::Command(command).encode_payload().unwrap();
        assert_eq!(&encoded[..], &bytes[..]);
    }

    #[test]
    fn on_status_golden() {
        // nginx-rtmp's Publish.Start, from tests/fixtures/captures/ffmpeg-publish.s2c.
        let wire = hex("
            02 0008 6f6e537461747573 00 0000000000000000 05
            03 0005 6c6576656c 02 0006 737461747573
               0004 636f6465 02 0017 4e657453747265616d2e5075626c6973682e5374617274
               000b 6465736372697074696f6e 02 0010 5374617274207075626c697368696e67
               000009");
        let command = Command::on_status(object(&[
            ("level", string("status")),
            ("code", string("NetStream.Publish.Start")),
            ("description", string("Start publishing")),
        ]));
        let raw = assert_round_trip(&Message::Command(command));
        assert_eq!(&raw.payload[..], &wire[..]);
    }

    #[test]
    fn create_stream_result_has_a_null_command_object() {
        // nginx-rtmp: _result(4, null, 1).
        let wire = hex("02 0007 5f726573756c74 00 4010000000000000 05 00 3ff0000000000000");
        let expected = Command::result(4.0, Value::Null, vec![Value::Number(1.0)]);
        assert_eq!(decode(20, &wire), Ok(Message::Command(expected.clone())));
        assert_eq!(
            &Message::Command(expected).encode_payload().unwrap()[..],
            &wire[..]
        );
    }

    #[test]
    fn type_17_with_and_without_the_format_selector() {
        let body = hex(FFMPEG_CONNECT);
        let mut with_selector = vec![0];
        with_selector.extend_from_slice(&body);
        let Ok(Message::Command(from_selector)) = decode(17, &with_selector) else {
            panic!("type 17 with selector");
        };
        assert_eq!(from_selector.encoding, AmfEncoding::Amf3);
        assert_eq!(from_selector.name, "connect");
        assert_eq!(
            decode(17, &body),
            Ok(Message::Command(from_selector.clone()))
        );
        let raw = assert_round_trip(&Message::Command(from_selector));
        assert_eq!(raw.type_id, 17);
        assert_eq!(&raw.payload[..], &with_selector[..]);
    }

    #[test]
    fn type_17_with_an_unknown_format_selector_is_refused() {
        let mut payload = vec![3];
        payload.extend_from_slice(&hex(FFMPEG_CONNECT));
        assert_eq!(
            decode(17, &payload),
            Err(MessageError::UnknownFormatSelector {
                type_id: 17,
                selector: 3
            })
        );
    }

    #[test]
    fn type_17_values_may_switch_to_amf3() {
        // "_result", then the transaction id and an argument as AMF3 integers (0x11 0x04 ..).
        let payload = hex("00 02 0007 5f726573756c74 11 04 05 05 11 04 07");
        let Ok(Message::Command(command)) = decode(17, &payload) else {
            panic!("not a command");
        };
        assert_eq!(command.transaction_id, 5.0);
        assert_eq!(command.command_object, Value::Null);
        assert_eq!(command.arguments, [Value::Integer(7)]);
        assert_round_trip(&Message::Command(command));
    }

    #[test]
    fn a_command_with_only_a_name_is_accepted() {
        let Ok(Message::Command(command)) = decode(20, &hex("02 0008 6f6e4257446f6e65")) else {
            panic!("not a command");
        };
        assert_eq!(
            command,
            Command::new("onBWDone", 0.0, Value::Null, Vec::new())
        );
        assert_round_trip(&Message::Command(command));
        let Ok(Message::Command(command)) =
            decode(20, &hex("02 0008 6f6e4257446f6e65 00 0000000000000000"))
        else {
            panic!("not a command");
        };
        assert_eq!(command.command_object, Value::Null);
    }

    #[test]
    fn any_value_may_be_the_command_object() {
        let command = Command::new(
            "call",
            2.0,
            string("not an object"),
            vec![Value::Boolean(true)],
        );
        assert_eq!(command.command_object_property("x"), None);
        assert_round_trip(&Message::Command(command));
        let ecma = Command::new(
            "call",
            2.0,
            Value::EcmaArray(vec![(String::from("x"), Value::Number(1.0))]),
            Vec::new(),
        );
        assert_eq!(ecma.command_object_property("x"), Some(&Value::Number(1.0)));
    }

    #[test]
    fn malformed_commands_are_typed_errors() {
        assert_eq!(decode(20, &[]), Err(MessageError::MissingCommandName));
        assert_eq!(decode(17, &[0]), Err(MessageError::MissingCommandName));
        assert_eq!(
            decode(20, &hex("00 3ff0000000000000")),
            Err(MessageError::CommandNameNotString)
        );
        assert_eq!(
            decode(20, &hex("02 0001 61 02 0001 62")),
            Err(MessageError::TransactionIdNotNumber)
        );
        assert!(matches!(
            decode(20, &hex("02 0007 636f6e6e")),
            Err(MessageError::Amf(_))
        ));
    }

    #[test]
    fn constructors_and_encoding() {
        let command = Command::error(3.0, Value::Null, Vec::new()).with_encoding(AmfEncoding::Amf3);
        assert_eq!(command.name, "_error");
        assert_eq!(Message::from(command.clone()).type_id(), 17);
        assert_round_trip(&Message::Command(command));
    }
}
