//! The replication protocol as pure state machines: no clock reads, locks,
//! threads or files. Time comes in as an `Instant`; every call returns what
//! changed, and the runtime (`super::runtime`) persists and carries it out.
//!
//! - `controller`: broker liveness, leader election, ISR bookkeeping.
//! - `placement`: where a new topic's replicas go.
//! - `metadata`: the controller's record of topics and partitions, and its encoding.
//! - `role`: which role a recorded partition state gives a replica.
//! - `leader`: follower progress, ISR proposals, high watermark, waiting `acks=all` requests.
//! - `follower`: reconciling a divergent suffix, what fetched batches change.
//! - `epoch_history`: which leader epoch wrote which offsets.
//! - `producer_state`: idempotent producers' sequence checks.
//! - `sim` (tests only): all of the above composed over in-memory logs, seeded.

pub(crate) mod controller;
pub(crate) mod epoch_history;
pub(crate) mod follower;
pub(crate) mod leader;
pub(crate) mod metadata;
pub(crate) mod placement;
pub(crate) mod producer_state;
pub(crate) mod role;
#[cfg(test)]
mod sim;
