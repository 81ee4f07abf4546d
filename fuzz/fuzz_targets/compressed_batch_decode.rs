//! Arbitrary bytes as the compressed records of an otherwise valid batch
//! decode or fail with a corruption error, never a panic or an unbounded
//! allocation (input layout: see `bodies.rs`).
//!
//! The body lives in `bodies.rs`, which the stable corpus-replay test
//! (`tests/it/fuzz_corpus.rs`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "bodies.rs"]
#[allow(dead_code, reason = "each target calls one of the shared bodies")]
mod bodies;

fuzz_target!(|data: &[u8]| bodies::compressed_batch_decode(data));
