//! Criterion benchmarks (suites pending).
fn main() {}
