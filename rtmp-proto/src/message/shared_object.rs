//! Shared object messages (RTMP 1.0 §7.1.3; types 19 and 16).

use super::amf_values::{decode_one_value, decode_values, encode_values, Budget};
use super::wire::{put_short_string, read_short_string};
use super::{AmfEncoding, MessageError};
use crate::amf::Value;
use crate::raw::type_id;
use crate::wire::ByteReader;
use crate::{amf0, Limits};
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};
use core::mem::size_of;

/// A shared object message (RTMP 1.0 §7.1.3): events about one remote shared object.
///
/// RTMP 1.0 lists the fields and event types but not the layout of the flags or of each
/// event's data. The layouts here are the ones Red5 reads and writes and reverse-engineered
/// Flash Media Server traffic shows:
/// - header: the name as a string with a 16-bit length and no AMF marker, the version (4
///   bytes), the flags (4 bytes; Red5 writes 2 for a persistent object), 4 reserved bytes;
/// - then events: type (1 byte), data length (4 bytes), data.
///
/// Event data: Use, Release, Clear and Use Success carry none; Request Change and Change carry
/// name/value pairs (a marker-less name, then an AMF0 value); Success, Remove and Request
/// Remove carry a marker-less name; Send Message carries AMF0 values, the handler name (an
/// AMF string) first; Status carries a marker-less code then a marker-less level. Data that
/// does not fit its event's layout is an error. Unknown event types keep their data byte for
/// byte. Type 16 starts with the format selector byte 0 of the extended types (RTMP errata
/// §6.2); its names stay marker-less and its values AMF0, with 0x11 switching one to AMF3.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedObject {
    /// The shared object's name.
    pub name: String,
    /// The version the sender knows.
    pub version: u32,
    /// The flags; [`SharedObject::PERSISTENT`] marks a persistent object.
    pub flags: u32,
    /// The 4 bytes after the flags, 0 in every message seen; kept so that nothing is lost.
    pub reserved: u32,
    /// The events, in order.
    pub events: Vec<SharedObjectEvent>,
    /// Whether it travels as type 19 (AMF0) or type 16 (extended).
    pub encoding: AmfEncoding,
}

/// One event of a shared object message (RTMP 1.0 §7.1.3).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SharedObjectEvent {
    /// Use (1): the client starts using the named shared object.
    Use,
    /// Release (2): the client no longer uses it.
    Release,
    /// Request Change (3): the client asks to set properties.
    RequestChange {
        /// Name/value pairs, in wire order.
        properties: Vec<(String, Value)>,
    },
    /// Change (4): the server tells clients properties changed (Red5 sends several at once).
    Change {
        /// Name/value pairs, in wire order.
        properties: Vec<(String, Value)>,
    },
    /// Success (5): the server accepted a Request Change of the named property.
    Success {
        /// The property name.
        name: String,
    },
    /// Send Message (6): call a handler on every client of the shared object.
    SendMessage {
        /// The handler name.
        handler: String,
        /// Its arguments.
        arguments: Vec<Value>,
    },
    /// Status (7): an error or warning about a request.
    Status {
        /// The status code, e.g. `SharedObject.NoWriteAccess`.
        code: String,
        /// The level, e.g. `error`.
        level: String,
    },
    /// Clear (8): the client must clear its copy (sent before the initial contents).
    Clear,
    /// Remove (9): the server removed the named property.
    Remove {
        /// The property name.
        name: String,
    },
    /// Request Remove (10): the client asks to remove the named property.
    RequestRemove {
        /// The property name.
        name: String,
    },
    /// Use Success (11): the server accepted a Use.
    UseSuccess,
    /// Any other event type, its data kept byte for byte.
    Unknown {
        /// The event type.
        event_type: u8,
        /// The event data.
        data: Bytes,
    },
}

impl SharedObject {
    /// The flag bit of a persistent shared object (Red5 writes flags 2 for persistent, 0
    /// otherwise).
    pub const PERSISTENT: u32 = 2;

    /// A shared object message sent as AMF0 (type 19), with reserved bytes 0.
    pub fn new(
        name: impl Into<String>,
        version: u32,
        persistent: bool,
        events: Vec<SharedObjectEvent>,
    ) -> Self {
        SharedObject {
            name: name.into(),
            version,
            flags: if persistent { Self::PERSISTENT } else { 0 },
            reserved: 0,
            events,
            encoding: AmfEncoding::Amf0,
        }
    }

    /// Whether the flags mark the shared object persistent.
    pub fn is_persistent(&self) -> bool {
        self.flags & Self::PERSISTENT != 0
    }

    pub(super) fn decode(
        payload: &Bytes,
        encoding: AmfEncoding,
        limits: &Limits,
    ) -> Result<SharedObject, MessageError> {
        let body = match (encoding, payload.first()) {
            (AmfEncoding::Amf0, _) => payload.clone(),
            (AmfEncoding::Amf3, Some(0)) => payload.slice(1..),
            (AmfEncoding::Amf3, Some(&selector)) => {
                return Err(MessageError::UnknownFormatSelector {
                    type_id: type_id::SHARED_OBJECT_AMF3,
                    selector,
                })
            }
            (AmfEncoding::Amf3, None) => return Err(MessageError::SharedObjectTruncated),
        };
        let mut budget = Budget::new(limits);
        let mut reader = ByteReader::new(&body);
        let name = read_short_string(&mut reader)?.ok_or(MessageError::SharedObjectTruncated)?;
        let (Ok(version), Ok(flags), Ok(reserved)) = (reader.u32(), reader.u32(), reader.u32())
        else {
            return Err(MessageError::SharedObjectTruncated);
        };
        budget.charge(name.len())?;
        let mut events = Vec::new();
        while !reader.is_empty() {
            let (Ok(event_type), Ok(length)) = (reader.u8(), reader.u32()) else {
                return Err(MessageError::SharedObjectTruncated);
            };
            let data_start = reader.position();
            let data = usize::try_from(length)
                .ok()
                .and_then(|length| reader.take(length).ok())
                .ok_or(MessageError::SharedObjectTruncated)?;
            budget.charge(size_of::<SharedObjectEvent>())?;
            let data_end = data_start.saturating_add(data.len());
            let event =
                match SharedObjectEvent::decode_known(event_type, data, limits, &mut budget)? {
                    Some(event) => event,
                    None => SharedObjectEvent::Unknown {
                        event_type,
                        data: body.slice(data_start..data_end),
                    },
                };
            events.push(event);
        }
        Ok(SharedObject {
            name,
            version,
            flags,
            reserved,
            events,
            encoding,
        })
    }

    pub(super) fn encode(&self) -> Result<Bytes, MessageError> {
        let mut out = BytesMut::new();
        if self.encoding == AmfEncoding::Amf3 {
            out.put_u8(0);
        }
        put_short_string(&mut out, &self.name)?;
        out.put_u32(self.version);
        out.put_u32(self.flags);
        out.put_u32(self.reserved);
        for event in &self.events {
            out.put_u8(event.event_type());
            let length_at = out.len();
            out.put_u32(0);
            event.encode_data(&mut out)?;
            let length = out.len().saturating_sub(length_at).saturating_sub(4);
            let length_field =
                u32::try_from(length).map_err(|_| MessageError::FieldTooLong(length))?;
            if let Some(slot) = out.get_mut(length_at..length_at.saturating_add(4)) {
                slot.copy_from_slice(&length_field.to_be_bytes());
            }
        }
        Ok(out.freeze())
    }
}

impl SharedObjectEvent {
    /// Event type of [`SharedObjectEvent::Use`].
    pub const USE: u8 = 1;
    /// Event type of [`SharedObjectEvent::Release`].
    pub const RELEASE: u8 = 2;
    /// Event type of [`SharedObjectEvent::RequestChange`].
    pub const REQUEST_CHANGE: u8 = 3;
    /// Event type of [`SharedObjectEvent::Change`].
    pub const CHANGE: u8 = 4;
    /// Event type of [`SharedObjectEvent::Success`].
    pub const SUCCESS: u8 = 5;
    /// Event type of [`SharedObjectEvent::SendMessage`].
    pub const SEND_MESSAGE: u8 = 6;
    /// Event type of [`SharedObjectEvent::Status`].
    pub const STATUS: u8 = 7;
    /// Event type of [`SharedObjectEvent::Clear`].
    pub const CLEAR: u8 = 8;
    /// Event type of [`SharedObjectEvent::Remove`].
    pub const REMOVE: u8 = 9;
    /// Event type of [`SharedObjectEvent::RequestRemove`].
    pub const REQUEST_REMOVE: u8 = 10;
    /// Event type of [`SharedObjectEvent::UseSuccess`].
    pub const USE_SUCCESS: u8 = 11;

    /// The event type on the wire.
    pub fn event_type(&self) -> u8 {
        match self {
            SharedObjectEvent::Use => Self::USE,
            SharedObjectEvent::Release => Self::RELEASE,
            SharedObjectEvent::RequestChange { .. } => Self::REQUEST_CHANGE,
            SharedObjectEvent::Change { .. } => Self::CHANGE,
            SharedObjectEvent::Success { .. } => Self::SUCCESS,
            SharedObjectEvent::SendMessage { .. } => Self::SEND_MESSAGE,
            SharedObjectEvent::Status { .. } => Self::STATUS,
            SharedObjectEvent::Clear => Self::CLEAR,
            SharedObjectEvent::Remove { .. } => Self::REMOVE,
            SharedObjectEvent::RequestRemove { .. } => Self::REQUEST_REMOVE,
            SharedObjectEvent::UseSuccess => Self::USE_SUCCESS,
            SharedObjectEvent::Unknown { event_type, .. } => *event_type,
        }
    }

    /// Decodes the data of a known event type, or `None` for an unknown one.
    fn decode_known(
        event_type: u8,
        data: &[u8],
        limits: &Limits,
        budget: &mut Budget,
    ) -> Result<Option<SharedObjectEvent>, MessageError> {
        let malformed = MessageError::MalformedSharedObjectEvent { event_type };
        let mut reader = ByteReader::new(data);
        let mut name = |budget: &mut Budget| -> Result<String, MessageError> {
            let name = read_short_string(&mut reader)?.ok_or_else(|| malformed.clone())?;
            budget.charge(name.len())?;
            Ok(name)
        };
        let event = match event_type {
            Self::USE => SharedObjectEvent::Use,
            Self::RELEASE => SharedObjectEvent::Release,
            Self::CLEAR => SharedObjectEvent::Clear,
            Self::USE_SUCCESS => SharedObjectEvent::UseSuccess,
            Self::SUCCESS => SharedObjectEvent::Success {
                name: name(budget)?,
            },
            Self::REMOVE => SharedObjectEvent::Remove {
                name: name(budget)?,
            },
            Self::REQUEST_REMOVE => SharedObjectEvent::RequestRemove {
                name: name(budget)?,
            },
            Self::STATUS => SharedObjectEvent::Status {
                code: name(budget)?,
                level: name(budget)?,
            },
            Self::REQUEST_CHANGE => SharedObjectEvent::RequestChange {
                properties: decode_properties(event_type, data, limits, budget)?,
            },
            Self::CHANGE => SharedObjectEvent::Change {
                properties: decode_properties(event_type, data, limits, budget)?,
            },
            Self::SEND_MESSAGE => {
                let mut values = decode_values(data, limits, budget)?.into_iter();
                let Some(Value::String(handler)) = values.next() else {
                    return Err(malformed);
                };
                SharedObjectEvent::SendMessage {
                    handler,
                    arguments: values.collect(),
                }
            }
            _ => return Ok(None),
        };
        let consumed_everything = match event {
            SharedObjectEvent::RequestChange { .. }
            | SharedObjectEvent::Change { .. }
            | SharedObjectEvent::SendMessage { .. } => true,
            _ => reader.is_empty(),
        };
        if consumed_everything {
            Ok(Some(event))
        } else {
            Err(malformed)
        }
    }

    fn encode_data(&self, out: &mut BytesMut) -> Result<(), MessageError> {
        match self {
            SharedObjectEvent::Use
            | SharedObjectEvent::Release
            | SharedObjectEvent::Clear
            | SharedObjectEvent::UseSuccess => {}
            SharedObjectEvent::RequestChange { properties }
            | SharedObjectEvent::Change { properties } => {
                for (name, value) in properties {
                    put_short_string(out, name)?;
                    amf0::encode(value, out)?;
                }
            }
            SharedObjectEvent::Success { name }
            | SharedObjectEvent::Remove { name }
            | SharedObjectEvent::RequestRemove { name } => put_short_string(out, name)?,
            SharedObjectEvent::SendMessage { handler, arguments } => {
                let handler = Value::String(handler.clone());
                encode_values(out, core::iter::once(&handler).chain(arguments))?;
            }
            SharedObjectEvent::Status { code, level } => {
                put_short_string(out, code)?;
                put_short_string(out, level)?;
            }
            SharedObjectEvent::Unknown { event_type, data } => {
                if (Self::USE..=Self::USE_SUCCESS).contains(event_type) {
                    return Err(MessageError::KnownSharedObjectEventAsUnknown {
                        event_type: *event_type,
                    });
                }
                out.put_slice(data);
            }
        }
        Ok(())
    }
}

/// Name/value pairs filling the whole of `data`.
fn decode_properties(
    event_type: u8,
    data: &[u8],
    limits: &Limits,
    budget: &mut Budget,
) -> Result<Vec<(String, Value)>, MessageError> {
    let malformed = || MessageError::MalformedSharedObjectEvent { event_type };
    let mut reader = ByteReader::new(data);
    let mut properties = Vec::new();
    while !reader.is_empty() {
        let name = read_short_string(&mut reader)?.ok_or_else(malformed)?;
        budget.charge(size_of::<(String, Value)>().saturating_add(name.len()))?;
        let (value, used) = decode_one_value(reader.rest(), limits, budget)?;
        if used == 0 {
            return Err(malformed());
        }
        reader.skip(used).map_err(|_| malformed())?;
        properties.push((name, value));
    }
    Ok(properties)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::testing::{assert_round_trip, decode, hex, string};
    use crate::message::Message;
    use alloc::{format, vec};

    /// A persistent "chat" at version 3 with a Use, a Request Change of foo to "bar" (the
    /// example of csimi/rtmp-client's SharedObject.md), a Status and an unknown event 20.
    const CHAT: &str = "
        0004 63686174  00000003  00000002  00000000
        01 00000000
        03 0000000b  0003 666f6f  02 0003 626172
        07 00000023  001a 5368617265644f626a6563742e4e6f5772697465416363657373
                     0005 6572726f72
        14 00000002  0102";

    fn chat() -> SharedObject {
        SharedObject::new(
            "chat",
            3,
            true,
            vec![
                SharedObjectEvent::Use,
                SharedObjectEvent::RequestChange {
                    properties: vec![(String::from("foo"), string("bar"))],
                },
                SharedObjectEvent::Status {
                    code: String::from("SharedObject.NoWriteAccess"),
                    level: String::from("error"),
                },
                SharedObjectEvent::Unknown {
                    event_type: 20,
                    data: Bytes::from_static(&[1, 2]),
                },
            ],
        )
    }

    #[test]
    fn golden_shared_object() {
        let raw = assert_round_trip(&Message::SharedObject(chat()));
        assert_eq!(raw.type_id, 19);
        assert_eq!(&raw.payload[..], &hex(CHAT)[..]);
        assert!(chat().is_persistent());
    }

    #[test]
    fn type_16_has_a_format_selector() {
        let shared_object = SharedObject {
            encoding: AmfEncoding::Amf3,
            ..chat()
        };
        let raw = assert_round_trip(&Message::SharedObject(shared_object));
        assert_eq!(raw.type_id, 16);
        assert_eq!(raw.payload[0], 0);
        assert_eq!(&raw.payload[1..], &hex(CHAT)[..]);
        let mut wrong = raw.payload.to_vec();
        wrong[0] = 3;
        assert_eq!(
            decode(16, &wrong),
            Err(MessageError::UnknownFormatSelector {
                type_id: 16,
                selector: 3
            })
        );
        assert_eq!(decode(16, &[]), Err(MessageError::SharedObjectTruncated));
    }

    #[test]
    fn every_event_type_round_trips() {
        let events = vec![
            SharedObjectEvent::Use,
            SharedObjectEvent::Release,
            SharedObjectEvent::RequestChange {
                properties: Vec::new(),
            },
            SharedObjectEvent::Change {
                properties: vec![
                    (String::from("a"), Value::Number(1.0)),
                    (String::from(""), Value::Null),
                    (String::from("c"), string("three")),
                ],
            },
            SharedObjectEvent::Success {
                name: String::from("a"),
            },
            SharedObjectEvent::SendMessage {
                handler: String::from("onChat"),
                arguments: vec![string("hello"), Value::Boolean(false)],
            },
            SharedObjectEvent::Status {
                code: String::new(),
                level: String::from("status"),
            },
            SharedObjectEvent::Clear,
            SharedObjectEvent::Remove {
                name: String::from("a"),
            },
            SharedObjectEvent::RequestRemove {
                name: String::from("b"),
            },
            SharedObjectEvent::UseSuccess,
            SharedObjectEvent::Unknown {
                event_type: 0,
                data: Bytes::new(),
            },
        ];
        for (index, event) in events.iter().enumerate() {
            let expected = match event {
                SharedObjectEvent::Unknown { .. } => 0,
                _ => u8::try_from(index).unwrap() + 1,
            };
            assert_eq!(event.event_type(), expected);
        }
        let shared_object = SharedObject::new("so", 0, false, events);
        assert!(!shared_object.is_persistent());
        assert_round_trip(&Message::SharedObject(shared_object));
    }

    #[test]
    fn send_message_golden() {
        let shared_object = SharedObject::new(
            "s",
            1,
            false,
            vec![SharedObjectEvent::SendMessage {
                handler: String::from("hi"),
                arguments: vec![Value::Null],
            }],
        );
        let raw = assert_round_trip(&Message::SharedObject(shared_object));
        assert_eq!(
            &raw.payload[..],
            &hex("0001 73 00000001 00000000 00000000  06 00000006 02 0002 6869 05")[..]
        );
    }

    #[test]
    fn malformed_events_are_typed_errors() {
        let header = "0001 73 00000001 00000000 00000000";
        let malformed = |event_type| Err(MessageError::MalformedSharedObjectEvent { event_type });
        // Use with data; Success with a trailing byte; Status without a level; Send Message
        // whose first value is not a string; Change with a name but no value.
        assert_eq!(
            decode(19, &hex(&format!("{header} 01 00000001 00"))),
            malformed(1)
        );
        assert_eq!(
            decode(19, &hex(&format!("{header} 05 00000004 0001 61 00"))),
            malformed(5)
        );
        assert_eq!(
            decode(19, &hex(&format!("{header} 07 00000003 0001 61"))),
            malformed(7)
        );
        assert_eq!(
            decode(19, &hex(&format!("{header} 06 00000001 05"))),
            malformed(6)
        );
        assert!(matches!(
            decode(19, &hex(&format!("{header} 04 00000003 0001 61"))),
            Err(MessageError::Amf(_))
        ));
        assert_eq!(
            decode(19, &hex(&format!("{header} 04 00000001 00"))),
            malformed(4)
        );
        assert_eq!(
            decode(19, &hex(&format!("{header} 05 00000003 0001 ff"))),
            Err(MessageError::InvalidUtf8)
        );
    }

    #[test]
    fn truncated_shared_objects_are_typed_errors() {
        let bytes = hex(CHAT);
        for cut in [0, 1, 5, 10, 19, 20, 22, 26, bytes.len() - 1] {
            assert_eq!(
                decode(19, &bytes[..cut]),
                Err(MessageError::SharedObjectTruncated),
                "cut at {cut}"
            );
        }
        assert_eq!(
            decode(19, &hex("0001 73 00000001 00000000 00000000 01 ffffffff")),
            Err(MessageError::SharedObjectTruncated)
        );
    }

    #[test]
    fn known_event_types_cannot_pose_as_unknown() {
        let shared_object = SharedObject::new(
            "s",
            0,
            false,
            vec![SharedObjectEvent::Unknown {
                event_type: 4,
                data: Bytes::new(),
            }],
        );
        assert_eq!(
            Message::SharedObject(shared_object).to_raw(0, 0),
            Err(MessageError::KnownSharedObjectEventAsUnknown { event_type: 4 })
        );
    }

    #[test]
    fn many_events_are_bounded_by_the_decoded_size_limit() {
        let mut bytes = hex("0001 73 00000001 00000000 00000000");
        for _ in 0..1000 {
            bytes.extend_from_slice(&[1, 0, 0, 0, 0]);
        }
        let limits = Limits {
            max_amf_decoded_size: 1000,
            ..Limits::default()
        };
        assert_eq!(
            Message::decode(&crate::message::testing::raw(19, &bytes), &limits),
            Err(MessageError::DecodedSizeLimit { limit: 1000 })
        );
        assert!(decode(19, &bytes).is_ok());
    }
}
