#![no_main]
//! Decodes arbitrary bytes as a sequence of AMF3 values with the default limits, sharing
//! reference tables across them. Whatever decodes must encode, and decode again to the same
//! values.
use libfuzzer_sys::fuzz_target;
use rtmp_proto::{amf3, Limits, Value};

fn encode_all(values: &[Value]) -> Vec<u8> {
    let mut encoder = amf3::Encoder::new();
    let mut out = Vec::new();
    for value in values {
        encoder
            .encode(value, &mut out)
            .expect("a decoded value must encode");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(first) = amf3::decode_all(data, &limits) else {
        return;
    };
    let encoded = encode_all(&first);
    let second = amf3::decode_all(&encoded, &limits).expect("an encoding must decode");
    // Values holding NaN are unequal to themselves; their bytes still must match.
    if first == first {
        assert_eq!(first, second);
    }
    assert_eq!(encoded, encode_all(&second));
});
