//! Consumer throughput, in the shape of Kafka's `kafka-consumer-perf-test`.
//!
//! The log is in-process, so the tool first fills the topic (untimed) when
//! it holds fewer than `--messages` records, then times reading them.
//!
//! ```text
//! cargo run --release --example consumer_perf -- --topic perf --messages 20000000 --brokers 1
//! ```
//!
//! `--group g --members N` splits the partitions over N consumers on N
//! threads, each assigned a range of them, as a group's range assignor
//! would (start.time includes no rebalance: rebalance.time.ms is 0).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tidelog::{
    ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition,
};

const USAGE: &str = "usage: consumer_perf [--topic T] [--messages N] [--brokers N] \
[--partitions N] [--record-size B] [--group G --members N] [--consumer-props k=v ...] [--dir PATH]";

struct Args {
    topic: String,
    messages: u64,
    brokers: u32,
    partitions: u32,
    record_size: usize,
    group: Option<String>,
    members: u32,
    props: Vec<(String, String)>,
    dir: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        topic: "perf".into(),
        messages: 1_000_000,
        brokers: 1,
        partitions: 6,
        record_size: 100,
        group: None,
        members: 1,
        props: Vec::new(),
        dir: None,
    };
    let mut it = std::env::args().skip(1).peekable();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<f64>().map_err(|_| format!("bad number {v:?}"));
        match flag.as_str() {
            "--topic" => args.topic = value()?,
            "--messages" => args.messages = number(value()?)? as u64,
            "--brokers" => args.brokers = number(value()?)? as u32,
            "--partitions" => args.partitions = number(value()?)? as u32,
            "--record-size" => args.record_size = number(value()?)? as usize,
            "--group" => args.group = Some(value()?),
            "--members" => args.members = (number(value()?)? as u32).max(1),
            "--dir" => args.dir = Some(value()?.into()),
            "--consumer-props" => {
                while let Some(prop) = it.next_if(|p| !p.starts_with("--")) {
                    let (k, v) = prop
                        .split_once('=')
                        .ok_or_else(|| format!("consumer prop {prop:?} is not k=v"))?;
                    args.props.push((k.to_string(), v.to_string()));
                }
            }
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(&args) {
        eprintln!("consumer_perf failed: {error}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let temporary = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    let log = Log::builder(&dir)
        .brokers(args.brokers)
        .default_replication_factor(args.brokers.min(3))
        .open()?;
    let partitions =
        match log.create_topic(&args.topic, TopicConfig::new().partitions(args.partitions)) {
            Ok(topic) => topic.partition_count(),
            Err(tidelog::Error::TopicAlreadyExists(_)) => log.topic(&args.topic)?.partition_count(),
            Err(e) => return Err(e.into()),
        };
    fill(&log, args, partitions)?;

    let mut config = ConsumerConfig::new()
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false);
    for (key, value) in &args.props {
        config = config.set(key, value)?;
    }
    let members = args.members.min(partitions).max(1);
    let start_wall = wall_clock();
    let start = Instant::now();
    let results: Vec<(u64, u64)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..members)
            .map(|m| {
                let assignment = range_assignment(&args.topic, partitions, members, m);
                let quota = args.messages / u64::from(members)
                    + u64::from(m == 0) * (args.messages % u64::from(members));
                let (log, config) = (&log, config.clone());
                scope.spawn(move || consume(log, config, &assignment, quota))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("consumer thread"))
            .collect::<Result<_, _>>()
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let end_wall = wall_clock();
    let (messages, bytes) = results
        .iter()
        .fold((0, 0), |(m, b), (rm, rb)| (m + rm, b + rb));
    let mb = bytes as f64 / (1024.0 * 1024.0);
    println!(
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
    );
    println!(
        "{start_wall}, {end_wall}, {mb:.4}, {:.4}, {messages}, {:.4}, 0, {}, {:.4}, {:.4}",
        mb / elapsed,
        messages as f64 / elapsed,
        (elapsed * 1000.0) as u64,
        mb / elapsed,
        messages as f64 / elapsed,
    );
    if let Some(group) = &args.group {
        eprintln!("(group {group:?}: {members} members with range-assigned partitions)");
    }
    Ok(())
}

/// Makes sure the topic holds at least `--messages` records.
fn fill(log: &Log, args: &Args, partitions: u32) -> Result<(), Box<dyn std::error::Error>> {
    let consumer = log.consumer(ConsumerConfig::new())?;
    let tps: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(args.topic.as_str(), p))
        .collect();
    let present: u64 = consumer.end_offsets(&tps)?.values().sum::<u64>()
        - consumer.beginning_offsets(&tps)?.values().sum::<u64>();
    if present >= args.messages {
        return Ok(());
    }
    let missing = args.messages - present;
    eprintln!(
        "filling {:?} with {missing} records of {} bytes ...",
        args.topic, args.record_size
    );
    let producer = log.producer(ProducerConfig::new().set("acks", "1")?)?;
    let record = ProducerRecord::new(
        args.topic.as_str(),
        Bytes::from(vec![b'x'; args.record_size]),
    );
    for _ in 0..missing {
        producer.send(record.clone())?;
    }
    producer.close();
    Ok(())
}

/// Partitions `member` of `members` gets, in the range assignor's way.
fn range_assignment(
    topic: &str,
    partitions: u32,
    members: u32,
    member: u32,
) -> Vec<TopicPartition> {
    let per = partitions / members;
    let extra = partitions % members;
    let start = member * per + member.min(extra);
    let count = per + u32::from(member < extra);
    (start..start + count)
        .map(|p| TopicPartition::new(topic, p))
        .collect()
}

fn consume(
    log: &Log,
    config: ConsumerConfig,
    assignment: &[TopicPartition],
    quota: u64,
) -> Result<(u64, u64), tidelog::Error> {
    let mut consumer = log.consumer(config)?;
    consumer.assign(assignment)?;
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut idle_since = Instant::now();
    while messages < quota {
        let records = consumer.poll(Duration::from_millis(100))?;
        if records.is_empty() {
            // Kafka's tool stops after a quiet timeout; so do we.
            if idle_since.elapsed() > Duration::from_secs(10) {
                break;
            }
            continue;
        }
        idle_since = Instant::now();
        messages += records.len() as u64;
        bytes += records
            .iter()
            .map(|r| r.value().map_or(0, |v| v.len()) as u64)
            .sum::<u64>();
    }
    Ok((messages, bytes))
}

fn wall_clock() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}.{:03}", now.subsec_millis())
}
