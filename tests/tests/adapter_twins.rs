//! The two adapters have files in common (neither depends on the other, and what they hold
//! has no place in the sans-IO core: rustls's types, I/O errors): each must stay one file in
//! two places, not two that drift apart.

#[test]
fn both_adapters_build_tls_configurations_with_the_same_code() {
    let std_copy = include_str!("../../rtmp-std/src/tls/config.rs");
    let tokio_copy = include_str!("../../rtmp-tokio/src/tls/config.rs");
    assert!(std_copy.contains("pub struct TlsClientConfig"));
    assert_eq!(
        std_copy, tokio_copy,
        "rtmp-std/src/tls/config.rs and rtmp-tokio/src/tls/config.rs differ"
    );
}

#[test]
fn both_adapters_have_the_same_error_type() {
    let std_copy = include_str!("../../rtmp-std/src/error.rs");
    let tokio_copy = include_str!("../../rtmp-tokio/src/error.rs");
    assert!(std_copy.contains("pub enum Error"));
    assert_eq!(
        std_copy, tokio_copy,
        "rtmp-std/src/error.rs and rtmp-tokio/src/error.rs differ"
    );
}
