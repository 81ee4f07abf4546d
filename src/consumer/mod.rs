//! The consumer (STUB — the clients helper implements).
#![allow(dead_code, unused_variables, clippy::todo, missing_docs)]

/// Reads records from assigned or subscribed partitions.
pub struct Consumer {}
