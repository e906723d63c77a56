use super::*;
use crate::amf::strategies::{expected_amf3, noise, same_bits, value};
use crate::amf::{AmfError, Object, Value};
use crate::{amf_object, Limits};
use alloc::vec;
use alloc::vec::Vec;
use bytes::Bytes;
use proptest::prelude::*;

fn encoded(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, &mut out).unwrap();
    out
}

fn decoded(input: &[u8]) -> Result<Value, AmfError> {
    Decoder::new(input, &Limits::DEFAULT).decode()
}

#[test]
fn u29_boundaries_match_the_spec() {
    let cases: &[(i32, &[u8])] = &[
        (0, &[0x00]),
        (0x7F, &[0x7F]),
        (0x80, &[0x81, 0x00]),
        (0x3FFF, &[0xFF, 0x7F]),
        (0x4000, &[0x81, 0x80, 0x00]),
        (0x1F_FFFF, &[0xFF, 0xFF, 0x7F]),
        (0x20_0000, &[0x80, 0xC0, 0x80, 0x00]),
        (0x0FFF_FFFF, &[0xBF, 0xFF, 0xFF, 0xFF]),
        (-1, &[0xFF, 0xFF, 0xFF, 0xFF]),
        (-2, &[0xFF, 0xFF, 0xFF, 0xFE]),
        (-0x80, &[0xFF, 0xFF, 0xFF, 0x80]),
        (MIN_INTEGER, &[0xC0, 0x80, 0x80, 0x00]),
    ];
    for (integer, u29) in cases {
        let bytes = [&[marker::INTEGER][..], u29].concat();
        assert_eq!(encoded(&Value::Integer(*integer)), bytes, "{integer}");
        assert_eq!(decoded(&bytes), Ok(Value::Integer(*integer)), "{integer}");
    }
    // One past either end is written as a double.
    for integer in [MAX_INTEGER + 1, MIN_INTEGER - 1] {
        let bytes = [&[marker::DOUBLE][..], &f64::from(integer).to_be_bytes()].concat();
        assert_eq!(encoded(&Value::Integer(integer)), bytes);
        assert_eq!(decoded(&bytes), Ok(Value::Number(f64::from(integer))));
    }
}

#[test]
fn scalar_and_object_table_types_match_the_spec() {
    let cases: &[(Value, &[u8])] = &[
        (Value::Undefined, &[0x00]),
        (Value::Null, &[0x01]),
        (Value::Boolean(false), &[0x02]),
        (Value::Boolean(true), &[0x03]),
        (Value::Number(1.0), &[0x05, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]),
        (Value::from(""), &[0x06, 0x01]),
        (Value::from("é"), &[0x06, 0x05, 0xC3, 0xA9]),
        (
            Value::XmlDocument("<a/>".into()),
            &[0x07, 0x09, b'<', b'a', b'/', b'>'],
        ),
        (
            Value::Xml("<b/>".into()),
            &[0x0B, 0x09, b'<', b'b', b'/', b'>'],
        ),
        (
            Value::Date {
                millis: 1.0,
                timezone: 0,
            },
            &[0x08, 0x01, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0],
        ),
        (
            Value::ByteArray(Bytes::from_static(&[7, 8])),
            &[0x0C, 0x05, 7, 8],
        ),
        (
            Value::VectorInt {
                fixed: false,
                items: vec![1, -1],
            },
            &[0x0D, 0x05, 0x00, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            Value::VectorUint {
                fixed: true,
                items: vec![0xFFFF_FFFF],
            },
            &[0x0E, 0x03, 0x01, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            Value::VectorDouble {
                fixed: false,
                items: vec![1.0],
            },
            &[0x0F, 0x03, 0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0],
        ),
        (
            Value::VectorObject {
                fixed: false,
                type_name: "*".into(),
                items: vec![Value::Null],
            },
            &[0x10, 0x03, 0x00, 0x03, b'*', 0x01],
        ),
        (
            Value::Dictionary {
                weak_keys: false,
                entries: vec![(Value::Integer(1), Value::from("one"))],
            },
            &[0x11, 0x03, 0x00, 0x04, 0x01, 0x06, 0x07, b'o', b'n', b'e'],
        ),
        (
            Value::StrictArray(vec![Value::Null, Value::Integer(2)]),
            &[0x09, 0x05, 0x01, 0x01, 0x04, 0x02],
        ),
        (
            Value::EcmaArray(vec![("k".into(), Value::Null)]),
            &[0x09, 0x01, 0x03, b'k', 0x01, 0x01],
        ),
        (
            Value::MixedArray {
                assoc: vec![("k".into(), Value::Null)],
                dense: vec![Value::Boolean(true)],
            },
            &[0x09, 0x03, 0x03, b'k', 0x01, 0x01, 0x03],
        ),
        // An anonymous object: dynamic traits (0x0B), class "", one dynamic member.
        (
            amf_object! { "a" => Value::Integer(1) },
            &[0x0A, 0x0B, 0x01, 0x03, b'a', 0x04, 0x01, 0x01],
        ),
    ];
    for (value, bytes) in cases {
        assert_eq!(encoded(value), *bytes, "{value}");
        assert_eq!(decoded(bytes).as_ref(), Ok(value), "{value}");
    }
}

#[test]
fn repeated_strings_become_references_but_the_empty_string_never_does() {
    let value = Value::StrictArray(vec!["abc".into(), "abc".into(), "".into(), "".into()]);
    let bytes = [
        0x09, 0x09, 0x01, // four dense items, no associative part
        0x06, 0x07, b'a', b'b', b'c', // "abc" inline: string 0
        0x06, 0x00, // reference to string 0
        0x06, 0x01, 0x06, 0x01, // the empty string, inline both times
    ];
    assert_eq!(encoded(&value), bytes);
    assert_eq!(decoded(&bytes), Ok(value));
}

#[test]
fn repeated_classes_become_traits_references() {
    let point = |x: i32| Value::Object(Object::typed("P").with("x", Value::Integer(x)));
    let value = Value::StrictArray(vec![point(1), point(2)]);
    let bytes = [
        0x09, 0x05, 0x01, // two dense items
        0x0A, 0x13, // object, inline traits: one sealed member, not dynamic
        0x03, b'P', // class name: string 0
        0x03, b'x', // member name: string 1
        0x04, 0x01, // x = 1
        0x0A, 0x01, // object, traits reference 0
        0x04, 0x02, // x = 2
    ];
    assert_eq!(encoded(&value), bytes);
    assert_eq!(decoded(&bytes), Ok(value));
}

#[test]
fn sealed_and_dynamic_members_merge_in_wire_order() {
    let bytes = [
        0x0A, 0x1B, // traits: one sealed member, dynamic
        0x03, b'P', 0x03, b'x', // class "P", member "x"
        0x04, 0x01, // x = 1
        0x03, b'y', 0x04, 0x02, // dynamic y = 2
        0x01, // end of dynamic members
    ];
    let expected = Value::Object(
        Object::typed("P")
            .with("x", Value::Integer(1))
            .with("y", Value::Integer(2)),
    );
    assert_eq!(decoded(&bytes), Ok(expected.clone()));
    // Written back with every member sealed, it reads the same.
    assert_eq!(decoded(&encoded(&expected)), Ok(expected));
}

#[test]
fn anonymous_object_with_an_empty_key_is_written_sealed() {
    let value = Value::Object(Object::new().with("", 1).with("b", 2));
    let bytes = encoded(&value);
    assert_eq!(&bytes[..3], &[0x0A, 0x23, 0x01]);
    assert_eq!(decoded(&bytes), Ok(value));
}

#[test]
fn object_references_expand_and_cycles_fail() {
    // [o, ref 1]: the array is object 0, the inner array object 1.
    let bytes = [0x09, 0x05, 0x01, 0x09, 0x03, 0x01, 0x01, 0x09, 0x02];
    let inner = Value::StrictArray(vec![Value::Null]);
    assert_eq!(
        decoded(&bytes),
        Ok(Value::StrictArray(vec![inner.clone(), inner]))
    );
    // An array holding itself, as Flash writes `a.push(a)`.
    let cycle = [0x09, 0x03, 0x01, 0x09, 0x00];
    assert_eq!(decoded(&cycle), Err(AmfError::CyclicReference { index: 0 }));
    // Dates, byte arrays and XML are in the object table too.
    let dates = [
        0x09, 0x05, 0x01, 0x08, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x02,
    ];
    let date = Value::Date {
        millis: 0.0,
        timezone: 0,
    };
    assert_eq!(
        decoded(&dates),
        Ok(Value::StrictArray(vec![date.clone(), date]))
    );
}

#[test]
fn unknown_references_are_typed_errors() {
    assert_eq!(
        decoded(&[0x06, 0x04]),
        Err(AmfError::InvalidReference { index: 2 })
    );
    assert_eq!(
        decoded(&[0x09, 0x06]),
        Err(AmfError::InvalidReference { index: 3 })
    );
    assert_eq!(
        decoded(&[0x0A, 0x05]),
        Err(AmfError::InvalidReference { index: 1 })
    );
}

#[test]
fn externalizable_objects_are_refused() {
    assert_eq!(
        decoded(&[0x0A, 0x07, 0x03, b'A']),
        Err(AmfError::ExternalizableObject {
            class_name: "A".into()
        })
    );
}

#[test]
fn reference_tables_span_the_values_of_one_decoder_and_encoder() {
    let values = [
        amf_object! { "code" => "ok" },
        amf_object! { "code" => "ok" },
    ];
    let mut encoder = Encoder::new();
    let mut out = Vec::new();
    encoder.encode(&values[0], &mut out).unwrap();
    let first = out.len();
    encoder.encode(&values[1], &mut out).unwrap();
    // Traits reference, "code" and "ok" references, end.
    assert_eq!(&out[first..], &[0x0A, 0x01, 0x00, 0x06, 0x02, 0x01]);
    assert_eq!(decode_all(&out, &Limits::DEFAULT).unwrap(), values);
}

/// An array of `levels + 1` anonymous objects, each with two members referring to the
/// previous one.
fn reference_bomb(levels: u8) -> Vec<u8> {
    assert!(levels < 60);
    let mut bytes = vec![0x09, (levels + 1) * 2 + 1, 0x01];
    bytes.extend_from_slice(&[0x0A, 0x0B, 0x01, 0x01]);
    for level in 1..=levels {
        // The array is object 0 and the object of level k is object k + 1.
        let previous = level * 2;
        bytes.extend_from_slice(&[0x0A, 0x01]);
        if level == 1 {
            bytes.extend_from_slice(&[0x03, b'a', 0x0A, previous, 0x03, b'b', 0x0A, previous]);
        } else {
            bytes.extend_from_slice(&[0x00, 0x0A, previous, 0x02, 0x0A, previous]);
        }
        bytes.push(0x01);
    }
    bytes
}

#[test]
fn reference_bomb_hits_the_decoded_size_limit() {
    let bytes = reference_bomb(50);
    assert!(bytes.len() < 600);
    let limits = Limits {
        max_amf_depth: 64,
        ..Limits::DEFAULT
    };
    assert_eq!(
        Decoder::new(&bytes, &limits).decode(),
        Err(AmfError::DecodedSizeExceeded {
            max: limits.max_amf_decoded_size
        })
    );
    assert!(matches!(
        decoded(&bytes),
        Err(AmfError::DepthExceeded { max: 16 })
    ));
    let small = decoded(&reference_bomb(5)).unwrap();
    let Value::StrictArray(objects) = small else {
        panic!("not an array")
    };
    assert_eq!(objects[5].get("a"), Some(&objects[4]));
}

#[test]
fn depth_limit_is_exact() {
    let nested = |levels: usize| {
        let mut bytes = Vec::new();
        for _ in 0..levels {
            bytes.extend_from_slice(&[0x09, 0x03, 0x01]);
        }
        bytes.push(0x01);
        bytes
    };
    assert!(decoded(&nested(16)).is_ok());
    assert_eq!(
        decoded(&nested(17)),
        Err(AmfError::DepthExceeded { max: 16 })
    );
    assert_eq!(
        decoded(&nested(1_000_000)),
        Err(AmfError::DepthExceeded { max: 16 })
    );
}

#[test]
fn huge_counts_fail_before_allocating() {
    // Each header announces 2^28 - 1 items; a few bytes follow.
    let cases: &[&[u8]] = &[
        &[0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x01, 0x01],
        &[
            0x0D, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        ],
        &[
            0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        ],
        &[0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x01, 0x01],
        &[0x11, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x01, 0x01],
        // Traits announcing 2^25 - 1 sealed members.
        &[0x0A, 0xFF, 0xFF, 0xFF, 0xF3, 0x01, 0x01, 0x01],
    ];
    for bytes in cases {
        assert_eq!(decoded(bytes), Err(AmfError::UnexpectedEof), "{bytes:x?}");
    }
    assert_eq!(
        decoded(&[0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]),
        Err(AmfError::StringTooLong {
            len: (1 << 28) - 1,
            max: 1024 * 1024
        })
    );
}

#[test]
fn string_length_limit_applies_to_every_string() {
    let limits = Limits {
        max_amf_string_len: 3,
        ..Limits::DEFAULT
    };
    let too_long = Err(AmfError::StringTooLong { len: 4, max: 3 });
    for value in [
        Value::from("four"),
        amf_object! { "four" => 1 },
        Value::Object(Object::typed("four")),
        Value::Xml("four".into()),
        Value::ByteArray(Bytes::from_static(b"four")),
    ] {
        assert_eq!(Decoder::new(&encoded(&value), &limits).decode(), too_long);
    }
}

#[test]
fn malformed_input_is_a_typed_error() {
    assert_eq!(
        decoded(&[0x12]),
        Err(AmfError::UnknownMarker { marker: 0x12 })
    );
    assert_eq!(decoded(&[0x06, 0x03, 0xFF]), Err(AmfError::InvalidUtf8));
    assert_eq!(decoded(&[0x04, 0x80, 0x80]), Err(AmfError::UnexpectedEof));
    assert_eq!(decoded(&[]), Err(AmfError::UnexpectedEof));
}

#[test]
fn lossy_cases_read_back_as_documented() {
    let cases = [
        (Value::Unsupported, Value::Undefined),
        (
            Value::Date {
                millis: 2.0,
                timezone: 60,
            },
            Value::Date {
                millis: 2.0,
                timezone: 0,
            },
        ),
        (Value::EcmaArray(vec![]), Value::StrictArray(vec![])),
        (
            Value::Object(Object::typed("")),
            Value::Object(Object::new()),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(decoded(&encoded(&value)), Ok(expected));
    }
    assert_eq!(
        encode(
            &Value::EcmaArray(vec![("".into(), Value::Null)]),
            &mut Vec::new()
        ),
        Err(AmfError::EmptyAssociativeKey)
    );
}

#[test]
fn nan_keeps_its_bits() {
    let signalling = f64::from_bits(0x7FF0_0000_0000_0001);
    let value = Value::StrictArray(vec![
        Value::Number(signalling),
        Value::VectorDouble {
            fixed: true,
            items: vec![f64::NAN, signalling],
        },
    ]);
    assert!(same_bits(&decoded(&encoded(&value)).unwrap(), &value));
}

proptest! {
    #![proptest_config(crate::test_support::proptest_config!("amf3"))]

    #[test]
    fn round_trip(value in value(16)) {
        let mut out = Vec::new();
        match expected_amf3(&value) {
            Some(expected) => {
                encode(&value, &mut out).unwrap();
                let mut decoder = Decoder::new(&out, &Limits::DEFAULT);
                prop_assert_eq!(decoder.decode().unwrap(), expected);
                prop_assert!(decoder.is_empty());
            }
            None => prop_assert_eq!(encode(&value, &mut out), Err(AmfError::EmptyAssociativeKey)),
        }
    }

    #[test]
    fn sequences_share_tables(values in proptest::collection::vec(value(4), 0..5)) {
        let values: Vec<Value> = values.iter().filter_map(expected_amf3).collect();
        let mut encoder = Encoder::new();
        let mut out = Vec::new();
        let mut ends = Vec::new();
        for value in &values {
            encoder.encode(value, &mut out).unwrap();
            ends.push(out.len());
        }
        let mut decoder = Decoder::new(&out, &Limits::DEFAULT);
        for (value, end) in values.iter().zip(ends) {
            prop_assert_eq!(&decoder.decode().unwrap(), value);
            prop_assert_eq!(decoder.position(), end);
        }
        prop_assert!(decoder.is_empty());
    }

    #[test]
    fn every_strict_prefix_is_unexpected_eof(value in value(6)) {
        if expected_amf3(&value).is_none() {
            return Ok(());
        }
        let out = encoded(&value);
        for cut in 0..out.len() {
            prop_assert_eq!(decoded(&out[..cut]), Err(AmfError::UnexpectedEof), "cut at {}", cut);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_decodes_round_trips(bytes in noise()) {
        if let Ok(values) = decode_all(&bytes, &Limits::DEFAULT) {
            let mut encoder = Encoder::new();
            let mut out = Vec::new();
            for value in &values {
                encoder.encode(value, &mut out).unwrap();
            }
            let again = decode_all(&out, &Limits::DEFAULT).unwrap();
            prop_assert_eq!(again.len(), values.len());
            for (left, right) in again.iter().zip(&values) {
                prop_assert!(same_bits(left, right), "{} != {}", left, right);
            }
        }
    }
}
