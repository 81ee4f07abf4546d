//! The conformance suite: every test here is written once against the public
//! API and runs against each target that can serve it:
//!
//! - `embedded`: a `Log` opened on a temporary directory (always);
//! - `listener`: tidelog's own Kafka listener over an embedded log, reached
//!   through `Log::connect` (features `kafka` and `kafka-client`);
//! - `kafka`: a real Apache Kafka broker at `TIDELOG_KAFKA_BOOTSTRAP`
//!   (feature `kafka-client`; see kafka-harness/with-kafka.sh).
//!
//! A test named `topics::kafka::duplicate_topic` is `duplicate_topic` of
//! `topics.rs` run against the `kafka` target. A target that is not
//! available prints why and passes without running the body, so a plain
//! `cargo test` covers the embedded target only.
//!
//! Where the targets legitimately differ, the test asserts each target's
//! documented behaviour (ARCHITECTURE.md, "Embedded and Kafka: where they
//! differ") instead of skipping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Instantiates each listed test function (`fn(&Target) -> Result<()>`)
/// once per target, as `embedded::name`, `listener::name` and `kafka::name`.
macro_rules! conformance {
    ($($test:ident),+ $(,)?) => {
        mod embedded {
            $(#[test]
            fn $test() {
                crate::target::run(crate::target::Kind::Embedded, super::$test);
            })+
        }
        mod listener {
            $(#[test]
            fn $test() {
                crate::target::run(crate::target::Kind::Listener, super::$test);
            })+
        }
        mod kafka {
            $(#[test]
            fn $test() {
                crate::target::run(crate::target::Kind::Kafka, super::$test);
            })+
        }
    };
}

mod cluster;
mod consume;
mod groups;
mod produce;
mod target;
mod topics;
