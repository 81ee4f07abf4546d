//! Criterion benchmarks: one binary, suites in `benches/suites/`.
//!
//! `cargo bench` measures; `cargo bench -- --test` runs every bench once.
//! Each suite pairs tidelog with a machine baseline (plain sequential file
//! writes and page-cache reads of 1 MiB chunks), so results read as ratios
//! rather than absolute numbers from a noisy shared machine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use criterion::Criterion;

#[path = "suites/append.rs"]
mod append;
#[path = "suites/codec.rs"]
mod codec;
#[path = "suites/fixtures.rs"]
mod fixtures;
#[path = "suites/index.rs"]
mod index;
#[path = "suites/read.rs"]
mod read;

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .configure_from_args();
    codec::benches(&mut criterion);
    codec::compression_benches(&mut criterion);
    append::benches(&mut criterion);
    read::benches(&mut criterion);
    index::benches(&mut criterion);
    criterion.final_summary();
}
