//! What input held while a request waits for the application costs, in memory.

use alloc::string::String;
use core::mem::size_of;

use super::Held;
use crate::amf::Value;
use crate::message::{Message, SharedObjectEvent};

/// What holding `message` costs: its payload, or the memory of its decoded AMF values, plus
/// the bookkeeping of one held message.
pub(super) fn held_size(message: &Message) -> usize {
    let content = match message {
        Message::Audio(payload) | Message::Video(payload) | Message::Aggregate(payload) => {
            payload.len()
        }
        Message::Unknown { payload, .. } => payload.len(),
        Message::Command(command) => command
            .arguments
            .iter()
            .fold(value_size(&command.command_object), |sum, value| {
                sum.saturating_add(value_size(value))
            })
            .saturating_add(command.name.len()),
        Message::Data(data) => values_size(&data.values),
        Message::SharedObject(shared_object) => shared_object
            .events
            .iter()
            .fold(shared_object.name.len(), |sum, event| {
                sum.saturating_add(shared_object_event_size(event))
            }),
        _ => 0,
    };
    content.saturating_add(size_of::<Held>())
}

fn values_size(values: &[Value]) -> usize {
    values
        .iter()
        .fold(0, |sum, value| sum.saturating_add(value_size(value)))
}

fn entries_size(entries: &[(String, Value)]) -> usize {
    entries.iter().fold(0, |sum, (key, value)| {
        sum.saturating_add(key.len())
            .saturating_add(size_of::<String>())
            .saturating_add(value_size(value))
    })
}

/// Memory of a decoded AMF value. Recursion is as deep as the value, which the AMF decoders
/// bound by [`Limits::max_amf_depth`](crate::Limits).
fn value_size(value: &Value) -> usize {
    let content = match value {
        Value::String(text) | Value::XmlDocument(text) | Value::Xml(text) => text.len(),
        Value::Object(object) => entries_size(&object.properties)
            .saturating_add(object.class_name.as_ref().map_or(0, String::len)),
        Value::EcmaArray(entries) => entries_size(entries),
        Value::StrictArray(items) => values_size(items),
        Value::MixedArray { assoc, dense } => {
            entries_size(assoc).saturating_add(values_size(dense))
        }
        Value::ByteArray(bytes) => bytes.len(),
        Value::VectorInt { items, .. } => items.len().saturating_mul(size_of::<i32>()),
        Value::VectorUint { items, .. } => items.len().saturating_mul(size_of::<u32>()),
        Value::VectorDouble { items, .. } => items.len().saturating_mul(size_of::<f64>()),
        Value::VectorObject {
            type_name, items, ..
        } => type_name.len().saturating_add(values_size(items)),
        Value::Dictionary { entries, .. } => entries.iter().fold(0usize, |sum, (key, value)| {
            sum.saturating_add(value_size(key))
                .saturating_add(value_size(value))
        }),
        _ => 0,
    };
    content.saturating_add(size_of::<Value>())
}

fn shared_object_event_size(event: &SharedObjectEvent) -> usize {
    let content = match event {
        SharedObjectEvent::RequestChange { properties }
        | SharedObjectEvent::Change { properties } => entries_size(properties),
        SharedObjectEvent::SendMessage { handler, arguments } => {
            handler.len().saturating_add(values_size(arguments))
        }
        SharedObjectEvent::Success { name }
        | SharedObjectEvent::Remove { name }
        | SharedObjectEvent::RequestRemove { name } => name.len(),
        SharedObjectEvent::Status { code, level } => code.len().saturating_add(level.len()),
        SharedObjectEvent::Unknown { data, .. } => data.len(),
        _ => 0,
    };
    content.saturating_add(size_of::<SharedObjectEvent>())
}
