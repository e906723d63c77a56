//! The relay server example is linked with its per-frame code laid out together
//! (rtmp-tokio's `build.rs` hands the linker `examples/server/hot-path.ld`, which
//! `tests/bench/hot-path-layout.py` writes from callgrind dumps of the fan-out bench). The
//! script names functions without their hashes; one renamed or moved since would silently lose
//! its place. This checks, on the server binary `cargo test --workspace` builds, that every
//! function the script names is there and lies in the script's section.
//!
//! Needs binutils' `nm` and `readelf` (the C toolchain that links Rust on Linux brings them).

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;

use rtmp_tests::peers::example_binary;

/// The section the script puts the hot functions in.
const SECTION: &str = ".text.hot_path";

/// Runs `program` with `args`, its standard output.
fn output_of(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program} (binutils): {error}"));
    assert!(output.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The symbol patterns of the script's `*(.text.PATTERN)` lines.
fn patterns(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|line| line.trim().strip_prefix("*(.text.")?.strip_suffix(')'))
        .map(str::to_owned)
        .collect()
}

/// Whether `name` matches `pattern`, in which `?` stands for any one character (the only
/// wildcard the script's symbol patterns use).
fn matches(pattern: &str, name: &str) -> bool {
    pattern.len() == name.len()
        && pattern
            .bytes()
            .zip(name.bytes())
            .all(|(want, have)| want == b'?' || want == have)
}

/// The address range of `section` in `binary`, from `readelf -SW`.
fn section_range(binary: &Path, section: &str) -> Option<(u64, u64)> {
    let table = output_of("readelf", &["-SW", binary.to_str()?]);
    let line = table
        .lines()
        .find(|line| line.split_whitespace().any(|field| field == section))?;
    // "[Nr] Name Type Address Off Size ...": the fields after the name.
    let fields: Vec<&str> = line
        .split_whitespace()
        .skip_while(|field| *field != section)
        .collect();
    let start = u64::from_str_radix(fields.get(2)?, 16).ok()?;
    let size = u64::from_str_radix(fields.get(4)?, 16).ok()?;
    Some((start, start + size))
}

#[test]
fn every_function_the_layout_names_is_in_the_servers_hot_section() {
    let script_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../rtmp-tokio/examples/server/hot-path.ld");
    let script = std::fs::read_to_string(&script_path).expect("the layout script");
    let patterns = patterns(&script);
    assert!(patterns.len() >= 20, "too few functions: {patterns:?}");
    let binary = example_binary("rtmp-tokio", "server");
    if std::env::var("RTMP_HOT_PATH_LAYOUT").is_ok_and(|value| value == "0") {
        // Turned off when the server was built (the same variable in the same `cargo test`).
        assert_eq!(section_range(&binary, SECTION), None);
        return;
    }
    let (start, end) = section_range(&binary, SECTION)
        .unwrap_or_else(|| panic!("{} has no {SECTION} section", binary.display()));
    let symbols: Vec<(u64, String)> =
        output_of("nm", &["--defined-only", binary.to_str().unwrap()])
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let address = u64::from_str_radix(fields.next()?, 16).ok()?;
                let kind = fields.next()?;
                let name = fields.next()?;
                matches!(kind, "t" | "T").then(|| (address, name.to_owned()))
            })
            .collect();
    let mut missing = Vec::new();
    for pattern in &patterns {
        let found: Vec<&(u64, String)> = symbols
            .iter()
            .filter(|(_, name)| matches(pattern, name))
            .collect();
        if found.is_empty() {
            missing.push(pattern.as_str());
        }
        for (address, name) in found {
            assert!(
                (start..end).contains(address),
                "{name} at {address:#x} is outside {SECTION} ({start:#x}-{end:#x})"
            );
        }
    }
    assert!(
        missing.is_empty(),
        "{} names functions the server no longer has (renamed or moved?); write it again \
         with tests/bench/hot-path-layout.py (see its header): {missing:#?}",
        script_path.display()
    );
}

#[test]
fn a_pattern_stands_for_the_hash_only() {
    let pattern = "_ZN4core3ptr4read17h????????????????E";
    assert!(matches(pattern, "_ZN4core3ptr4read17h0123456789abcdefE"));
    assert!(!matches(pattern, "_ZN4core3ptr5write17h0123456789abcdefE"));
    assert!(!matches(
        pattern,
        "_ZN4core3ptr4read17h0123456789abcdefE.cold.1"
    ));
    let script = "SECTIONS {\n  .text.hot_path : {\n    *(.text._ZN1a17h????????????????E)\n  }\n}";
    assert_eq!(patterns(script), ["_ZN1a17h????????????????E"]);
}
