//! tidelog's runnable examples. This library is empty: the examples are
//! this package's `[[example]]` targets, run from the repository root with
//! `cargo run --release --example NAME`. They live in a package of their own
//! so that building one compiles tidelog and two small crates, not the test
//! and benchmark dependencies of the main package.
