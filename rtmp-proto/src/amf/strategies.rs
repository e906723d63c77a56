//! Proptest strategies for values, and what each codec is expected to give back.

use super::{Object, Value};
use crate::amf3::{MAX_INTEGER, MIN_INTEGER};
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;

/// Any double but NaN, which is tested on its own since it is not equal to itself.
pub(crate) fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("NaN is tested apart", |n| !n.is_nan()),
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        (-1000i32..1000).prop_map(f64::from),
    ]
}

fn integer() -> impl Strategy<Value = i32> {
    prop_oneof![
        any::<i32>(),
        MIN_INTEGER - 2..MIN_INTEGER + 2,
        MAX_INTEGER - 2..MAX_INTEGER + 2,
        -200i32..200,
    ]
}

/// Keys, mostly plain, sometimes any text (including the empty key).
pub(crate) fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-zA-Z]{1,6}", 1 => ".{0,4}"]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{0,8}", ".{0,8}", Just(String::from("repeat"))]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Undefined),
        Just(Value::Null),
        Just(Value::Unsupported),
        any::<bool>().prop_map(Value::Boolean),
        number().prop_map(Value::Number),
        integer().prop_map(Value::Integer),
        text().prop_map(Value::String),
        (number(), any::<i16>()).prop_map(|(millis, timezone)| Value::Date { millis, timezone }),
        text().prop_map(Value::XmlDocument),
        text().prop_map(Value::Xml),
        vec(any::<u8>(), 0..6).prop_map(|bytes| Value::ByteArray(Bytes::from(bytes))),
        (any::<bool>(), vec(any::<i32>(), 0..4))
            .prop_map(|(fixed, items)| Value::VectorInt { fixed, items }),
        (any::<bool>(), vec(any::<u32>(), 0..4))
            .prop_map(|(fixed, items)| Value::VectorUint { fixed, items }),
        (any::<bool>(), vec(number(), 0..4))
            .prop_map(|(fixed, items)| Value::VectorDouble { fixed, items }),
    ]
}

/// Arbitrary values with at most `depth` levels of containers.
pub(crate) fn value(depth: u32) -> impl Strategy<Value = Value> {
    leaf().prop_recursive(depth, 48, 4, |inner| {
        let entries = || vec((key(), inner.clone()), 0..4);
        prop_oneof![
            (proptest::option::of("[A-Za-z.]{0,6}"), entries()).prop_map(
                |(class_name, properties)| Value::Object(Object {
                    class_name,
                    properties
                })
            ),
            entries().prop_map(Value::EcmaArray),
            vec(inner.clone(), 0..4).prop_map(Value::StrictArray),
            (entries(), vec(inner.clone(), 0..3))
                .prop_map(|(assoc, dense)| Value::MixedArray { assoc, dense }),
            (any::<bool>(), "[A-Za-z.*]{0,5}", vec(inner.clone(), 0..3)).prop_map(
                |(fixed, type_name, items)| Value::VectorObject {
                    fixed,
                    type_name,
                    items
                }
            ),
            (any::<bool>(), vec((inner.clone(), inner), 0..3))
                .prop_map(|(weak_keys, entries)| Value::Dictionary { weak_keys, entries }),
        ]
    })
}

fn map_entries(
    entries: &[(String, Value)],
    expected: fn(&Value) -> Option<Value>,
) -> Option<Vec<(String, Value)>> {
    entries
        .iter()
        .map(|(key, value)| Some((key.clone(), expected(value)?)))
        .collect()
}

fn map_items(items: &[Value], expected: fn(&Value) -> Option<Value>) -> Option<Vec<Value>> {
    items.iter().map(expected).collect()
}

/// What decoding the AMF3 encoding of `value` gives, or `None` if AMF3 cannot encode it
/// (see the lossy cases in the `amf` module docs).
pub(crate) fn expected_amf3(value: &Value) -> Option<Value> {
    Some(match value {
        Value::Unsupported => Value::Undefined,
        Value::Integer(integer) if !(MIN_INTEGER..=MAX_INTEGER).contains(integer) => {
            Value::Number(f64::from(*integer))
        }
        Value::Date { millis, .. } => Value::Date {
            millis: *millis,
            timezone: 0,
        },
        Value::Object(object) => Value::Object(Object {
            class_name: object.class_name.clone().filter(|name| !name.is_empty()),
            properties: map_entries(&object.properties, expected_amf3)?,
        }),
        Value::EcmaArray(entries) => array(map_entries(entries, expected_amf3)?, Vec::new())?,
        Value::StrictArray(items) => Value::StrictArray(map_items(items, expected_amf3)?),
        Value::MixedArray { assoc, dense } => array(
            map_entries(assoc, expected_amf3)?,
            map_items(dense, expected_amf3)?,
        )?,
        Value::VectorObject {
            fixed,
            type_name,
            items,
        } => Value::VectorObject {
            fixed: *fixed,
            type_name: type_name.clone(),
            items: map_items(items, expected_amf3)?,
        },
        Value::Dictionary { weak_keys, entries } => Value::Dictionary {
            weak_keys: *weak_keys,
            entries: entries
                .iter()
                .map(|(key, value)| Some((expected_amf3(key)?, expected_amf3(value)?)))
                .collect::<Option<_>>()?,
        },
        other => other.clone(),
    })
}

/// The narrowest variant for an AMF3 array, or `None` if a key is empty.
fn array(assoc: Vec<(String, Value)>, dense: Vec<Value>) -> Option<Value> {
    if assoc.iter().any(|(key, _)| key.is_empty()) {
        return None;
    }
    Some(match (assoc.is_empty(), dense.is_empty()) {
        (true, _) => Value::StrictArray(dense),
        (false, true) => Value::EcmaArray(assoc),
        (false, false) => Value::MixedArray { assoc, dense },
    })
}

/// What decoding the AMF0 encoding of `value` gives, or `None` if it cannot be encoded.
pub(crate) fn expected_amf0(value: &Value) -> Option<Value> {
    Some(match value {
        Value::Integer(integer) if !(MIN_INTEGER..=MAX_INTEGER).contains(integer) => {
            Value::Number(f64::from(*integer))
        }
        Value::Object(object) => Value::Object(Object {
            class_name: object.class_name.clone(),
            properties: map_entries(&object.properties, expected_amf0)?,
        }),
        Value::EcmaArray(entries) => Value::EcmaArray(map_entries(entries, expected_amf0)?),
        Value::StrictArray(items) => Value::StrictArray(map_items(items, expected_amf0)?),
        // Written through the AMF3 switch.
        Value::MixedArray { .. }
        | Value::Xml(_)
        | Value::ByteArray(_)
        | Value::VectorInt { .. }
        | Value::VectorUint { .. }
        | Value::VectorDouble { .. }
        | Value::VectorObject { .. }
        | Value::Dictionary { .. } => expected_amf3(value)?,
        other => other.clone(),
    })
}

/// Values whose doubles all compare equal bitwise, so NaN payloads can be checked.
pub(crate) fn same_bits(left: &Value, right: &Value) -> bool {
    fn all<T>(left: &[T], right: &[T], same: impl Fn(&T, &T) -> bool) -> bool {
        left.len() == right.len() && left.iter().zip(right).all(|(l, r)| same(l, r))
    }
    fn entries(left: &[(String, Value)], right: &[(String, Value)]) -> bool {
        all(left, right, |(lk, lv), (rk, rv)| {
            lk == rk && same_bits(lv, rv)
        })
    }
    match (left, right) {
        (Value::Number(l), Value::Number(r)) => l.to_bits() == r.to_bits(),
        (
            Value::Date {
                millis: l,
                timezone: lt,
            },
            Value::Date {
                millis: r,
                timezone: rt,
            },
        ) => l.to_bits() == r.to_bits() && lt == rt,
        (
            Value::VectorDouble {
                fixed: lf,
                items: l,
            },
            Value::VectorDouble {
                fixed: rf,
                items: r,
            },
        ) => lf == rf && all(l, r, |a, b| a.to_bits() == b.to_bits()),
        (Value::Object(l), Value::Object(r)) => {
            l.class_name == r.class_name && entries(&l.properties, &r.properties)
        }
        (Value::EcmaArray(l), Value::EcmaArray(r)) => entries(l, r),
        (Value::StrictArray(l), Value::StrictArray(r)) => all(l, r, same_bits),
        (
            Value::MixedArray {
                assoc: la,
                dense: ld,
            },
            Value::MixedArray {
                assoc: ra,
                dense: rd,
            },
        ) => entries(la, ra) && all(ld, rd, same_bits),
        (
            Value::VectorObject {
                fixed: lf,
                type_name: lt,
                items: l,
            },
            Value::VectorObject {
                fixed: rf,
                type_name: rt,
                items: r,
            },
        ) => lf == rf && lt == rt && all(l, r, same_bits),
        (
            Value::Dictionary {
                weak_keys: lw,
                entries: l,
            },
            Value::Dictionary {
                weak_keys: rw,
                entries: r,
            },
        ) => {
            lw == rw
                && all(l, r, |(lk, lv), (rk, rv)| {
                    same_bits(lk, rk) && same_bits(lv, rv)
                })
        }
        _ => left == right,
    }
}

/// Byte strings that look like AMF more often than uniform noise does: fragments of real
/// encodings glued to random bytes.
pub(crate) fn noise() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..64),
        vec(prop_oneof![0u8..0x12, any::<u8>()], 0..64),
    ]
    .boxed()
}
