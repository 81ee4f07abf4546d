//! Recovery through the public API: damage a partition's files between two
//! opens of a `Log`, as a crash or a bad disk would, and check that the log
//! opens, exposes exactly the intact records and keeps appending.

use std::fs;
use std::path::{Path, PathBuf};

use tidelog::{Log, ProducerConfig, ProducerRecord, TopicConfig};

use crate::support::{read_topic, text};

/// One broker, so the damaged files are the only copy: with replicas, a
/// damaged replica would be repaired from the others (tested in `replication`).
fn open_single_replica(dir: &Path) -> tidelog::Result<Log> {
    Log::builder(dir)
        .brokers(1)
        .default_replication_factor(1)
        .set("min.insync.replicas", "1")?
        .open()
}

/// Writes `count` records, one batch each, and closes the log cleanly.
fn write_and_close(dir: &Path, count: usize) -> tidelog::Result<()> {
    let log = open_single_replica(dir)?;
    log.create_topic("orders", TopicConfig::new().partitions(1))?;
    let producer = log.producer(ProducerConfig::new().set("linger.ms", "0")?)?;
    for i in 0..count {
        producer.send_sync(ProducerRecord::new("orders", format!("order-{i}")))?;
    }
    producer.close();
    log.close()
}

/// The partition directory of `orders`-0, wherever the broker keeps it.
fn partition_dir(root: &Path) -> PathBuf {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "orders-0") {
                    return path;
                }
                stack.push(path);
            }
        }
    }
    panic!("no partition directory under {}", root.display());
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("00000000000000000000.log")
}

/// Removes the clean-shutdown marker, as a crash would have left things.
fn forget_clean_shutdown(dir: &Path) {
    let _ = fs::remove_file(dir.join("clean-shutdown"));
}

fn assert_reopens_with(root: &Path, intact: usize) -> tidelog::Result<()> {
    let log = open_single_replica(root)?;
    let records = read_topic(&log, "orders", intact)?;
    let values: Vec<String> = records.iter().map(text).collect();
    let expected: Vec<String> = (0..intact).map(|i| format!("order-{i}")).collect();
    assert_eq!(values, expected);
    let producer = log.producer(ProducerConfig::new())?;
    let meta = producer.send_sync(ProducerRecord::new("orders", "after"))?;
    assert_eq!(meta.offset(), intact as u64);
    producer.close();
    log.close()
}

#[test]
fn a_torn_last_batch_is_cut_and_appends_continue() -> tidelog::Result<()> {
    let root = tempfile::tempdir().unwrap();
    write_and_close(root.path(), 20)?;
    let dir = partition_dir(root.path());
    forget_clean_shutdown(&dir);
    let file = fs::OpenOptions::new()
        .write(true)
        .open(segment(&dir))
        .unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len - 5).unwrap();
    assert_reopens_with(root.path(), 19)
}

#[test]
fn a_zero_filled_tail_and_lost_indexes_are_repaired() -> tidelog::Result<()> {
    let root = tempfile::tempdir().unwrap();
    write_and_close(root.path(), 12)?;
    let dir = partition_dir(root.path());
    forget_clean_shutdown(&dir);
    let mut bytes = fs::read(segment(&dir)).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    fs::write(segment(&dir), bytes).unwrap();
    fs::remove_file(dir.join("00000000000000000000.index")).unwrap();
    fs::write(dir.join("00000000000000000000.timeindex"), b"junk").unwrap();
    assert_reopens_with(root.path(), 12)
}

#[test]
fn a_corrupt_batch_hides_itself_and_everything_after_it() -> tidelog::Result<()> {
    let root = tempfile::tempdir().unwrap();
    write_and_close(root.path(), 10)?;
    let dir = partition_dir(root.path());
    forget_clean_shutdown(&dir);
    // Flip a bit inside the value of the seventh record's batch.
    let batches = tidelog::inspect::dump_segment(segment(&dir))?;
    let seventh = &batches[6];
    let mut bytes = fs::read(segment(&dir)).unwrap();
    let at = (seventh.position() + seventh.size_in_bytes() - 3) as usize;
    bytes[at] ^= 0x04;
    fs::write(segment(&dir), bytes).unwrap();
    fs::write(dir.join("recovery-point.checkpoint"), b"not a checkpoint").unwrap();
    assert_reopens_with(root.path(), 6)
}
