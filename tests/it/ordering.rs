//! Order within a partition is the order each thread sent in.

use std::collections::HashMap;
use std::thread;

use tidelog::{ProducerConfig, ProducerRecord, Result, TopicConfig};

use crate::support::{open_log, read_topic, text};

#[test]
fn one_key_from_several_threads_keeps_each_threads_order_with_dense_offsets() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("ordered", TopicConfig::new().partitions(4))?;
    let producer = log.producer(ProducerConfig::new().batch_size(512))?;
    const THREADS: usize = 4;
    const PER_THREAD: usize = 2500;
    thread::scope(|scope| {
        for t in 0..THREADS {
            let producer = &producer;
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    let record = ProducerRecord::new("ordered", format!("{t}:{i}")).key("the-key");
                    match i % 50 {
                        0 => drop(producer.send_sync(record).unwrap()),
                        1 => producer
                            .send_with_callback(record, |r| drop(r.unwrap()))
                            .unwrap(),
                        _ => producer.send(record).unwrap(),
                    }
                }
            });
        }
    });
    producer.flush();
    let records = read_topic(&log, "ordered", THREADS * PER_THREAD)?;
    let partition = records[0].partition();
    assert!(records.iter().all(|r| r.partition() == partition));
    for (expected, record) in records.iter().enumerate() {
        assert_eq!(record.offset(), expected as u64, "offsets are dense");
    }
    let mut next_of_thread: HashMap<String, usize> = HashMap::new();
    for record in &records {
        let value = text(record);
        let (thread, seq) = value.split_once(':').unwrap();
        let next = next_of_thread.entry(thread.to_string()).or_default();
        assert_eq!(
            seq.parse::<usize>().unwrap(),
            *next,
            "thread {thread} out of order"
        );
        *next += 1;
    }
    Ok(())
}

#[test]
fn callbacks_of_one_partition_run_in_offset_order() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("callback-order", TopicConfig::new().partitions(1))?;
    let producer = log.producer(ProducerConfig::new().batch_size(256))?;
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..2000 {
        let tx = tx.clone();
        producer.send_with_callback(
            ProducerRecord::new("callback-order", format!("{i}")),
            move |r| {
                tx.send(r.unwrap().offset()).unwrap();
            },
        )?;
    }
    producer.flush();
    drop(tx);
    let offsets: Vec<u64> = rx.iter().collect();
    assert_eq!(offsets, (0..2000).collect::<Vec<u64>>());
    Ok(())
}

#[test]
fn callbacks_from_different_call_sites_run_in_offset_order() -> Result<()> {
    use std::sync::{Arc, Mutex};
    let (_dir, log) = open_log();
    log.create_topic("calls", TopicConfig::new().partitions(1))?;
    let producer = log.producer(ProducerConfig::new().set("linger.ms", "60000")?)?;
    let seen = Arc::new(Mutex::new(Vec::new()));
    for i in 0..300u32 {
        let record = ProducerRecord::new("calls", format!("{i}"));
        let seen = Arc::clone(&seen);
        // Three closure types share each batch.
        match i % 3 {
            0 => producer.send_with_callback(record, move |r| {
                seen.lock().unwrap().push(r.unwrap().offset());
            })?,
            1 => producer.send_with_callback(record, move |r| {
                let offset = r.unwrap().offset();
                seen.lock().unwrap().push(offset);
            })?,
            _ => {
                let callback: Box<dyn FnOnce(Result<tidelog::RecordMetadata>) + Send> =
                    Box::new(move |r| seen.lock().unwrap().push(r.unwrap().offset()));
                producer.send_with_callback(record, callback)?;
            }
        }
    }
    producer.flush();
    let seen = seen.lock().unwrap();
    assert_eq!(*seen, (0..300).collect::<Vec<u64>>());
    Ok(())
}
