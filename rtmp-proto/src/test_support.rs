//! Helpers shared by the unit tests of every layer.

/// A proptest configuration whose failure seeds persist in the workspace's top-level
/// `proptest-regressions/NAME.txt`, so they are committed and replayed by every later run.
macro_rules! proptest_config {
    ($name:literal) => {
        proptest::test_runner::Config {
            failure_persistence: Some(alloc::boxed::Box::new(
                proptest::test_runner::FileFailurePersistence::Direct(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../proptest-regressions/",
                    $name,
                    ".txt"
                )),
            )),
            ..proptest::test_runner::Config::default()
        }
    };
}
pub(crate) use proptest_config;
