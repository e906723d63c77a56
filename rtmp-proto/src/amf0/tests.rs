use super::*;
use crate::amf::strategies::{expected_amf0, noise, same_bits, value};
use crate::amf::{AmfError, Object, Value};
use crate::{amf_object, Limits};
use alloc::string::String;
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

/// A U16-length AMF0 string body.
fn utf8(text: &str) -> Vec<u8> {
    let mut out = (text.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

#[test]
fn connect_command_matches_hand_checked_bytes() {
    let command = [
        Value::from("connect"),
        Value::from(1),
        amf_object! {
            "app" => "live",
            "type" => "nonprivate",
            "flashVer" => "FMLE/3.0 (compatible; FMSc/1.0)",
            "tcUrl" => "rtmp://localhost/live",
        },
    ];
    let expected: Vec<u8> = [
        &[0x02, 0x00, 0x07][..],
        b"connect",
        &[0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0],
        &[0x03],
        &[0x00, 0x03],
        b"app",
        &[0x02, 0x00, 0x04],
        b"live",
        &[0x00, 0x04],
        b"type",
        &[0x02, 0x00, 0x0A],
        b"nonprivate",
        &[0x00, 0x08],
        b"flashVer",
        &[0x02, 0x00, 0x1F],
        b"FMLE/3.0 (compatible; FMSc/1.0)",
        &[0x00, 0x05],
        b"tcUrl",
        &[0x02, 0x00, 0x15],
        b"rtmp://localhost/live",
        &[0x00, 0x00, 0x09],
    ]
    .concat();
    let mut out = Vec::new();
    for value in &command {
        encode(value, &mut out).unwrap();
    }
    assert_eq!(out, expected);
    assert_eq!(decode_all(&out, &Limits::DEFAULT).unwrap(), command);
}

#[test]
fn scalar_types_match_the_spec() {
    let cases: &[(Value, &[u8])] = &[
        (Value::Boolean(true), &[0x01, 0x01]),
        (Value::Null, &[0x05]),
        (Value::Undefined, &[0x06]),
        (Value::Unsupported, &[0x0D]),
        (
            Value::Date {
                millis: 1.0,
                timezone: -60,
            },
            &[0x0B, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0xFF, 0xC4],
        ),
        (
            Value::XmlDocument("<a/>".into()),
            &[0x0F, 0, 0, 0, 4, b'<', b'a', b'/', b'>'],
        ),
        (
            Value::StrictArray(vec![Value::Null, Value::Boolean(false)]),
            &[0x0A, 0, 0, 0, 2, 0x05, 0x01, 0x00],
        ),
        (
            Value::EcmaArray(vec![("a".into(), Value::Null)]),
            &[0x08, 0, 0, 0, 1, 0, 1, b'a', 0x05, 0, 0, 0x09],
        ),
        (
            Value::Object(Object::typed("P").with("x", Value::Null)),
            &[0x10, 0, 1, b'P', 0, 1, b'x', 0x05, 0, 0, 0x09],
        ),
        // AMF3 integer through the avmplus switch.
        (Value::Integer(5), &[0x11, 0x04, 0x05]),
        // Outside the 29-bit range: a plain AMF0 number.
        (
            Value::Integer(1 << 28),
            &[0x00, 0x41, 0xB0, 0, 0, 0, 0, 0, 0],
        ),
        (
            Value::ByteArray(Bytes::from_static(&[7, 8])),
            &[0x11, 0x0C, 0x05, 7, 8],
        ),
    ];
    for (value, bytes) in cases {
        assert_eq!(encoded(value), *bytes, "{value}");
        let expected = expected_amf0(value).unwrap();
        assert_eq!(decoded(bytes).unwrap(), expected, "{value}");
    }
}

#[test]
fn strings_longer_than_u16_become_long_strings() {
    let short = "x".repeat(0xFFFF);
    let long = "x".repeat(0x1_0000);
    let short_bytes = encoded(&Value::String(short.clone()));
    assert_eq!(&short_bytes[..3], &[0x02, 0xFF, 0xFF]);
    let long_bytes = encoded(&Value::String(long.clone()));
    assert_eq!(&long_bytes[..5], &[0x0C, 0x00, 0x01, 0x00, 0x00]);
    assert_eq!(decoded(&short_bytes).unwrap(), Value::String(short));
    assert_eq!(decoded(&long_bytes).unwrap(), Value::String(long));
}

#[test]
fn keys_too_long_for_amf0_switch_the_object_to_amf3() {
    let key = "k".repeat(0x1_0000);
    let object = Value::Object(Object::new().with(key, 1));
    let bytes = encoded(&object);
    assert_eq!(&bytes[..2], &[0x11, 0x0A]);
    assert_eq!(decoded(&bytes).unwrap(), object);
}

#[test]
fn ecma_array_count_is_only_a_hint() {
    // Count says 0 (as Flash Media Live Encoder writes), two entries follow.
    let bytes = [
        &[0x08, 0, 0, 0, 0][..],
        &utf8("a"),
        &[0x05],
        &utf8("b"),
        &[0x06, 0, 0, 0x09],
    ]
    .concat();
    assert_eq!(
        decoded(&bytes).unwrap(),
        Value::EcmaArray(vec![
            ("a".into(), Value::Null),
            ("b".into(), Value::Undefined)
        ])
    );
}

#[test]
fn trailing_ecma_array_may_omit_its_end_marker_but_objects_may_not() {
    let entries = [&utf8("width")[..], &[0x00], &1280f64.to_be_bytes()].concat();
    let ecma = [&[0x08, 0, 0, 0, 1][..], &entries].concat();
    let metadata = [&[0x02][..], &utf8("onMetaData"), &ecma].concat();
    let values = decode_all(&metadata, &Limits::DEFAULT).unwrap();
    assert_eq!(values[1].get("width"), Some(&Value::Number(1280.0)));

    let object = [&[0x03][..], &entries].concat();
    assert_eq!(decoded(&object), Err(AmfError::UnexpectedEof));
    // Only at the top level: inside a strict array the cut array is truncation.
    let nested = [&[0x0A, 0, 0, 0, 1][..], &ecma].concat();
    assert_eq!(decoded(&nested), Err(AmfError::UnexpectedEof));
    // A half-written end marker is still truncation.
    let half_end = [&ecma[..], &[0x00, 0x00]].concat();
    assert_eq!(decoded(&half_end), Err(AmfError::UnexpectedEof));
}

#[test]
fn empty_key_is_a_property_unless_the_end_marker_follows() {
    let bytes = [&[0x03][..], &utf8(""), &[0x05], &[0, 0, 0x09]].concat();
    let object = Value::Object(Object::new().with("", Value::Null));
    assert_eq!(decoded(&bytes).unwrap(), object);
    assert_eq!(encoded(&object), bytes);
}

#[test]
fn references_expand_into_the_tree() {
    // [ {a: 1}, ref 1 ] : the strict array is reference 0, the object reference 1.
    let object = [
        &[0x03][..],
        &utf8("a"),
        &[0x00],
        &1f64.to_be_bytes(),
        &[0, 0, 0x09],
    ]
    .concat();
    let bytes = [&[0x0A, 0, 0, 0, 2][..], &object, &[0x07, 0x00, 0x01]].concat();
    let inner = amf_object! { "a" => 1 };
    assert_eq!(
        decoded(&bytes).unwrap(),
        Value::StrictArray(vec![inner.clone(), inner])
    );
}

#[test]
fn references_span_the_values_of_one_decoder() {
    let object = [&[0x03][..], &utf8("a"), &[0x05], &[0, 0, 0x09]].concat();
    let bytes = [&object[..], &[0x07, 0x00, 0x00]].concat();
    let values = decode_all(&bytes, &Limits::DEFAULT).unwrap();
    assert_eq!(values[0], values[1]);
}

#[test]
fn cyclic_and_unknown_references_are_typed_errors() {
    // {self: ref 0} while object 0 is still open.
    let cycle = [&[0x03][..], &utf8("self"), &[0x07, 0, 0], &[0, 0, 0x09]].concat();
    assert_eq!(decoded(&cycle), Err(AmfError::CyclicReference { index: 0 }));
    assert_eq!(
        decoded(&[0x07, 0x00, 0x03]),
        Err(AmfError::InvalidReference { index: 3 })
    );
}

/// A strict array of `levels + 1` objects: the first empty, each next one with two properties
/// referring to the previous one. Its expansion doubles at each level.
fn reference_bomb(levels: u16) -> Vec<u8> {
    let mut bytes = vec![0x0A];
    bytes.extend_from_slice(&u32::from(levels + 1).to_be_bytes());
    bytes.extend_from_slice(&[0x03, 0, 0, 0x09]);
    for level in 1..=levels {
        // The array is reference 0 and object k is reference k + 1.
        let previous = level.to_be_bytes();
        bytes.push(0x03);
        for key in ["a", "b"] {
            bytes.extend_from_slice(&utf8(key));
            bytes.extend_from_slice(&[0x07, previous[0], previous[1]]);
        }
        bytes.extend_from_slice(&[0, 0, 0x09]);
    }
    bytes
}

#[test]
fn reference_bomb_hits_the_decoded_size_limit() {
    // 40 levels would expand to 2^40 objects; the input is under 700 bytes.
    let bytes = reference_bomb(40);
    assert!(bytes.len() < 700);
    let limits = Limits {
        max_amf_depth: 64,
        ..Limits::DEFAULT
    };
    let result = Decoder::new(&bytes, &limits).decode();
    assert_eq!(
        result,
        Err(AmfError::DecodedSizeExceeded {
            max: limits.max_amf_decoded_size
        })
    );
    // A small allowance fails as soon as the expansion outgrows it.
    let tight = Limits {
        max_amf_depth: 64,
        max_amf_decoded_size: 64 * 1024,
        ..Limits::DEFAULT
    };
    assert!(matches!(
        Decoder::new(&bytes, &tight).decode(),
        Err(AmfError::DecodedSizeExceeded { max: 65536 })
    ));
    // With the default limits the nesting limit stops it first.
    assert!(matches!(
        decoded(&bytes),
        Err(AmfError::DepthExceeded { max: 16 })
    ));
}

#[test]
fn small_reference_chains_still_decode() {
    let bytes = reference_bomb(6);
    let value = decoded(&bytes).unwrap();
    let Value::StrictArray(objects) = value else {
        panic!("not an array")
    };
    fn leaves(value: &Value) -> usize {
        match value {
            Value::Object(object) if object.is_empty() => 1,
            Value::Object(object) => object.iter().map(|(_, value)| leaves(value)).sum(),
            _ => 0,
        }
    }
    assert_eq!(leaves(&objects[6]), 64);
}

#[test]
fn each_avmplus_switch_starts_fresh_amf3_tables() {
    // Two switched strings: "abc" inline, then a string reference to index 0.
    let bytes = [0x11, 0x06, 0x07, b'a', b'b', b'c', 0x11, 0x06, 0x00];
    let mut decoder = Decoder::new(&bytes, &Limits::DEFAULT);
    assert_eq!(decoder.decode(), Ok(Value::from("abc")));
    assert_eq!(
        decoder.decode(),
        Err(AmfError::InvalidReference { index: 0 })
    );
    // The encoder never refers across switches either.
    let mut out = Vec::new();
    let array = Value::MixedArray {
        assoc: vec![("k".into(), Value::Null)],
        dense: vec![Value::Null],
    };
    encode(&array, &mut out).unwrap();
    encode(&array, &mut out).unwrap();
    let (first, second) = out.split_at(out.len() / 2);
    assert_eq!(first, second);
}

#[test]
fn malformed_markers_are_typed_errors() {
    assert_eq!(
        decoded(&[0x04]),
        Err(AmfError::ReservedMarker { marker: 0x04 })
    );
    assert_eq!(
        decoded(&[0x0E]),
        Err(AmfError::ReservedMarker { marker: 0x0E })
    );
    assert_eq!(
        decoded(&[0x12]),
        Err(AmfError::UnknownMarker { marker: 0x12 })
    );
    assert_eq!(decoded(&[0x09]), Err(AmfError::UnexpectedObjectEnd));
    assert_eq!(
        decoded(&[0x02, 0x00, 0x01, 0xFF]),
        Err(AmfError::InvalidUtf8)
    );
    assert_eq!(decoded(&[]), Err(AmfError::UnexpectedEof));
}

fn nested_arrays(levels: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..levels {
        bytes.extend_from_slice(&[0x0A, 0, 0, 0, 1]);
    }
    bytes.push(0x05);
    bytes
}

#[test]
fn depth_limit_is_exact_and_never_overflows_the_stack() {
    assert!(decoded(&nested_arrays(16)).is_ok());
    assert_eq!(
        decoded(&nested_arrays(17)),
        Err(AmfError::DepthExceeded { max: 16 })
    );
    // A million levels of input is still one typed error.
    assert_eq!(
        decoded(&nested_arrays(1_000_000)),
        Err(AmfError::DepthExceeded { max: 16 })
    );
    // The AMF3 switch keeps counting.
    let mut bytes = nested_arrays(16);
    bytes.pop();
    bytes.extend_from_slice(&[0x11, 0x09, 0x03, 0x01, 0x01]);
    assert_eq!(decoded(&bytes), Err(AmfError::DepthExceeded { max: 16 }));
}

#[test]
fn encoder_refuses_values_deeper_than_its_guard() {
    let mut value = Value::Null;
    for _ in 0..crate::amf::MAX_ENCODE_DEPTH + 1 {
        value = Value::StrictArray(vec![value]);
    }
    assert_eq!(
        encode(&value, &mut Vec::new()),
        Err(AmfError::DepthExceeded {
            max: crate::amf::MAX_ENCODE_DEPTH
        })
    );
}

#[test]
fn string_length_limit_applies_to_strings_keys_and_class_names() {
    let limits = Limits {
        max_amf_string_len: 3,
        ..Limits::DEFAULT
    };
    let too_long = Err(AmfError::StringTooLong { len: 4, max: 3 });
    let cases = [
        encoded(&Value::from("four")),
        encoded(&amf_object! { "four" => 1 }),
        encoded(&Value::Object(Object::typed("four"))),
        encoded(&Value::XmlDocument("four".into())),
    ];
    for bytes in cases {
        assert_eq!(Decoder::new(&bytes, &limits).decode(), too_long);
    }
    assert!(Decoder::new(&encoded(&Value::from("thr")), &limits)
        .decode()
        .is_ok());
}

#[test]
fn decoded_size_limit_counts_nodes_and_bytes() {
    let value = Value::StrictArray(vec![Value::from("abcdef"); 10]);
    let bytes = encoded(&value);
    let node = core::mem::size_of::<Value>();
    let exact = Limits {
        max_amf_decoded_size: 11 * node + 60,
        ..Limits::DEFAULT
    };
    assert_eq!(Decoder::new(&bytes, &exact).decode(), Ok(value));
    let short = Limits {
        max_amf_decoded_size: 11 * node + 59,
        ..Limits::DEFAULT
    };
    assert_eq!(
        Decoder::new(&bytes, &short).decode(),
        Err(AmfError::DecodedSizeExceeded {
            max: 11 * node + 59
        })
    );
}

#[test]
fn huge_counts_fail_before_allocating() {
    // 2^32 - 1 items announced, 10 bytes present.
    let bytes = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05, 0x05, 0x05, 0x05, 0x05];
    assert_eq!(decoded(&bytes), Err(AmfError::UnexpectedEof));
    let long_string = [0x0C, 0xFF, 0xFF, 0xFF, 0xFF, b'a'];
    assert_eq!(
        decoded(&long_string),
        Err(AmfError::StringTooLong {
            len: 0xFFFF_FFFF,
            max: 1024 * 1024
        })
    );
}

#[test]
fn nan_keeps_its_bits() {
    let quiet = f64::from_bits(0x7FF8_0000_0000_0001);
    let value = Value::StrictArray(vec![
        Value::Number(quiet),
        Value::Date {
            millis: f64::NAN,
            timezone: 0,
        },
        Value::VectorDouble {
            fixed: false,
            items: vec![quiet],
        },
    ]);
    assert!(same_bits(&decoded(&encoded(&value)).unwrap(), &value));
}

#[test]
fn fixed_size_output_fails_instead_of_panicking() {
    let mut buffer = [0u8; 4];
    let mut out = &mut buffer[..];
    assert_eq!(
        encode(&Value::from("too long"), &mut out),
        Err(AmfError::OutputFull)
    );
}

#[test]
fn mixed_array_with_empty_key_cannot_be_encoded() {
    let value = Value::MixedArray {
        assoc: vec![(String::new(), Value::Null)],
        dense: vec![],
    };
    assert_eq!(
        encode(&value, &mut Vec::new()),
        Err(AmfError::EmptyAssociativeKey)
    );
}

/// Whether `decoded` is what an AMF0 decoder may give for a strict prefix of the encoding of
/// `original`: a top-level ECMA array cut where a key would start (tolerated, see the module
/// docs), which keeps a prefix of the entries.
fn is_truncated_ecma_array(decoded: &Value, original: &Value) -> bool {
    match (decoded, original) {
        (Value::EcmaArray(cut), Value::EcmaArray(full)) => full.starts_with(cut),
        _ => false,
    }
}

proptest! {
    #![proptest_config(crate::test_support::proptest_config!("amf0"))]

    #[test]
    fn round_trip(value in value(16)) {
        let mut out = Vec::new();
        match expected_amf0(&value) {
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
    fn sequences_decode_value_by_value(values in proptest::collection::vec(value(4), 0..5)) {
        let values: Vec<Value> = values.iter().filter_map(expected_amf0).collect();
        let mut out = Vec::new();
        let mut ends = Vec::new();
        for value in &values {
            encode(value, &mut out).unwrap();
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
    fn every_strict_prefix_is_truncation(value in value(6)) {
        let Some(expected) = expected_amf0(&value) else { return Ok(()) };
        let out = encoded(&value);
        for cut in 0..out.len() {
            match decoded(&out[..cut]) {
                Err(error) => prop_assert_eq!(error, AmfError::UnexpectedEof, "cut at {}", cut),
                Ok(partial) => prop_assert!(
                    is_truncated_ecma_array(&partial, &expected),
                    "cut at {} decoded {}", cut, partial
                ),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_decodes_round_trips(bytes in noise()) {
        if let Ok(values) = decode_all(&bytes, &Limits::DEFAULT) {
            let mut out = Vec::new();
            for value in &values {
                encode(value, &mut out).unwrap();
            }
            let again = decode_all(&out, &Limits::DEFAULT).unwrap();
            prop_assert_eq!(again.len(), values.len());
            for (left, right) in again.iter().zip(&values) {
                prop_assert!(same_bits(left, right), "{} != {}", left, right);
            }
        }
    }
}
