//! `PartitionLog` against a plain `Vec` model over random operations.

use bytes::Bytes;
use proptest::prelude::*;

use super::partition_log::{PartitionLog, PartitionLogConfig};
use super::tests::{config, open};
use crate::error::Error;
use crate::record::{BatchBuilder, BatchIter, ProducerStamp};

#[derive(Debug, Clone)]
enum Op {
    Append {
        sizes: Vec<usize>,
        sync: bool,
    },
    Read {
        at: prop::sample::Index,
        max_bytes: usize,
    },
    Roll,
    Flush,
    Reopen {
        clean: bool,
    },
    PowerLoss,
    Truncate {
        at: prop::sample::Index,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (proptest::collection::vec(0usize..120, 1..5), any::<bool>())
            .prop_map(|(sizes, sync)| Op::Append { sizes, sync }),
        3 => (any::<prop::sample::Index>(), 0usize..600)
            .prop_map(|(at, max_bytes)| Op::Read { at, max_bytes }),
        1 => Just(Op::Roll),
        1 => Just(Op::Flush),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
        1 => Just(Op::PowerLoss),
        1 => any::<prop::sample::Index>().prop_map(|at| Op::Truncate { at }),
    ]
}

/// The expected log: batches of values, and how many batches are durable.
#[derive(Debug, Default)]
struct Model {
    batches: Vec<(u64, Vec<Bytes>)>,
    durable: usize,
    next_value: u64,
}

impl Model {
    fn end(&self) -> u64 {
        self.batches
            .last()
            .map_or(0, |(base, v)| base + v.len() as u64)
    }
    fn values(&self) -> Vec<Bytes> {
        self.batches.iter().flat_map(|(_, v)| v.clone()).collect()
    }
}

fn model_config() -> PartitionLogConfig {
    PartitionLogConfig {
        segment_bytes: 700,
        index_interval_bytes: 100,
        ..config()
    }
}

fn decoded(chunk: Bytes) -> Vec<(u64, u64, Vec<Bytes>)> {
    BatchIter::new(chunk)
        .map(|b| {
            let b = b.unwrap();
            let values = b.records().map(|r| r.unwrap().value.unwrap()).collect();
            (
                b.header().base_offset as u64,
                b.header().size() as u64,
                values,
            )
        })
        .collect()
}

fn apply(log: &mut PartitionLog, model: &mut Model, op: &Op, dir: &std::path::Path) {
    match op {
        Op::Append { sizes, sync } => {
            let mut builder = BatchBuilder::new(0);
            let mut values = Vec::new();
            for size in sizes {
                let mut value = format!("v{}-", model.next_value).into_bytes();
                value.resize(value.len() + size, b'x');
                model.next_value += 1;
                builder.push(0, None, Some(&value), &[]);
                values.push(Bytes::from(value));
            }
            let mut batch = builder.finish(ProducerStamp::NONE);
            let info = log.append_as_leader(&mut batch, 0, *sync).unwrap();
            assert_eq!(info.base_offset, model.end());
            model.batches.push((info.base_offset, values));
            if *sync {
                model.durable = model.batches.len();
            }
        }
        Op::Read { at, max_bytes } => check_read(
            log,
            model,
            at.index(model.end() as usize + 1) as u64,
            *max_bytes,
        ),
        Op::Roll => {
            log.roll().unwrap();
            model.durable = model.batches.len();
        }
        Op::Flush => {
            log.flush().unwrap();
            model.durable = model.batches.len();
        }
        Op::Reopen { clean } => {
            if *clean {
                log.close().unwrap();
                model.durable = model.batches.len();
            }
            *log = PartitionLog::open(dir.to_path_buf(), log.tp.clone(), model_config()).unwrap();
        }
        Op::PowerLoss => {
            log.simulate_power_loss().unwrap();
            *log = PartitionLog::open(dir.to_path_buf(), log.tp.clone(), model_config()).unwrap();
            // Rolls by size fsync more than the model knows about: what
            // survives is at least the durable prefix, and a prefix.
            let end = log.log_end_offset();
            let kept = model
                .batches
                .iter()
                .take_while(|(b, v)| b + v.len() as u64 <= end)
                .count();
            assert!(
                kept >= model.durable,
                "lost fsynced data: kept {kept} < {}",
                model.durable
            );
            assert_eq!(model.batches.get(..kept).map_or(0, |b| b.len()), kept);
            model.batches.truncate(kept);
            assert_eq!(end, model.end());
            model.durable = kept;
        }
        Op::Truncate { at } => {
            let offset = at.index(model.end() as usize + 1) as u64;
            log.truncate_to(offset).unwrap();
            model
                .batches
                .retain(|(base, v)| base + v.len() as u64 <= offset);
            model.durable = model.durable.min(model.batches.len());
        }
    }
    assert_eq!(log.log_end_offset(), model.end());
}

fn check_read(log: &PartitionLog, model: &Model, offset: u64, max_bytes: usize) {
    if offset > model.end() {
        assert!(matches!(
            log.read(offset, max_bytes, u64::MAX),
            Err(Error::OffsetOutOfRange { .. })
        ));
        return;
    }
    let chunk = log.read(offset, max_bytes, u64::MAX).unwrap();
    let total = chunk.len();
    let got = decoded(chunk);
    if offset == model.end() {
        assert!(got.is_empty());
        return;
    }
    let first = model
        .batches
        .iter()
        .position(|(base, v)| offset < base + v.len() as u64)
        .unwrap();
    assert!(!got.is_empty());
    assert!(
        got.len() == 1 || total <= max_bytes,
        "{total} bytes for max {max_bytes}"
    );
    for (i, (base, _, values)) in got.iter().enumerate() {
        let (want_base, want_values) = &model.batches[first + i];
        assert_eq!(base, want_base);
        assert_eq!(values, want_values);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn partition_log_matches_a_vec_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), model_config());
        let mut model = Model::default();
        for op in &ops {
            apply(&mut log, &mut model, op, dir.path());
        }
        let all: Vec<Bytes> = super::tests::read_all(&log, 0).into_iter().map(|(_, v)| v).collect();
        prop_assert_eq!(all, model.values());
    }
}
