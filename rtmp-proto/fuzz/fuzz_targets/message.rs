#![no_main]
use libfuzzer_sys::fuzz_target;

// Placeholder until this layer's decoder lands; replaced in the same issue.
fuzz_target!(|data: &[u8]| {
    let _ = data;
});
