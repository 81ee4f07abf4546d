//! Consumer throughput, in the shape of Kafka's `kafka-consumer-perf-test`.
//!
//! The log is in-process, so the tool first fills the topic (untimed) when
//! it holds fewer than `--messages` records, then times reading them.
//!
//! ```text
//! cargo run --release -p tidelog-bench --example consumer_perf -- --topic perf --messages 20000000 --brokers 1
//! ```
//!
//! Records are read with `poll_batch` (lent out of the fetched batches);
//! `--api poll` reads them with `poll` instead, one owned record each.
//!
//! `--group g --members N` runs N members of group `g` on N threads, each
//! subscribed to the topic; rebalance.time.ms is the time until the last of
//! them held its partitions, and the fetch columns exclude it. Without
//! `--group`, `--members N` consumers are each assigned a range of the
//! partitions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tidelog::{
    Consumer, ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicConfig,
    TopicPartition,
};
use tidelog_bench::{parse_or_exit, unknown, ArgsError, Flags};

const USAGE: &str = "\
usage: consumer_perf [options]

  --topic T                  topic to read (default perf; created and filled when short)
  --messages N               records to read; the topic is filled up to this first (default 1000000)
  --brokers N                simulated brokers (default 1)
  --partitions N             partitions of a new topic (default 6)
  --record-size B            value size of the filled records (default 100)
  --group G                  read as members of consumer group G (default: no group, assign)
  --members N                consumers, each on its own thread (default 1)
  --consumer-props k=v ...   consumer settings, Kafka's names (default: none)
  --api batch|poll           read with poll_batch or with poll (default batch)
  --dir PATH                 data directory (default: a temporary one)
  -h, --help                 this text";

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
    /// Read with `poll` instead of `poll_batch`.
    owned_poll: bool,
}

fn parse_args(flags: &mut Flags) -> Result<Args, ArgsError> {
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
        owned_poll: false,
    };
    while let Some(flag) = flags.next_flag()? {
        match flag.as_str() {
            "--topic" => args.topic = flags.value(&flag)?,
            "--messages" => args.messages = flags.parsed(&flag)?,
            "--brokers" => args.brokers = flags.parsed(&flag)?,
            "--partitions" => args.partitions = flags.parsed(&flag)?,
            "--record-size" => args.record_size = flags.parsed(&flag)?,
            "--group" => args.group = Some(flags.value(&flag)?),
            "--members" => args.members = flags.parsed::<u32>(&flag)?.max(1),
            "--dir" => args.dir = Some(flags.value(&flag)?.into()),
            "--consumer-props" => args.props = flags.properties(&flag)?,
            "--api" => {
                args.owned_poll = match flags.value(&flag)?.as_str() {
                    "batch" => false,
                    "poll" => true,
                    other => {
                        return Err(ArgsError::Bad(format!(
                            "--api: {other:?} is not batch or poll"
                        )))
                    }
                }
            }
            other => return Err(unknown(other)),
        }
    }
    Ok(args)
}

fn main() {
    let args = parse_or_exit(USAGE, parse_args);
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
    // Replication factor and min.insync.replicas follow the broker count.
    let log = Log::builder(&dir).brokers(args.brokers).open()?;
    let partitions = log
        .create_topic_if_not_exists(&args.topic, TopicConfig::new().partitions(args.partitions))?
        .partition_count();
    fill(&log, args, partitions)?;

    let mut config = ConsumerConfig::new()
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false);
    for (key, value) in &args.props {
        config = config.set(key, value)?;
    }
    let members = if args.group.is_some() {
        args.members
    } else {
        args.members.min(partitions).max(1)
    };
    // All members together stop at --messages.
    let consumed = AtomicU64::new(0);
    let start_wall = wall_clock();
    let start = Instant::now();
    let results: Vec<Outcome> = thread::scope(|scope| {
        let handles: Vec<_> = (0..members)
            .map(|m| {
                let reading = match &args.group {
                    Some(group) => Reading::Subscribe(group.clone()),
                    None => Reading::Assign(range_assignment(&args.topic, partitions, members, m)),
                };
                let (log, config, consumed) = (&log, config.clone(), &consumed);
                scope.spawn(move || consume(log, config, &reading, args, consumed, start))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("consumer thread"))
            .collect::<Result<_, _>>()
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let end_wall = wall_clock();
    let messages: u64 = results.iter().map(|r| r.messages).sum();
    let bytes: u64 = results.iter().map(|r| r.bytes).sum();
    let rebalance = results
        .iter()
        .map(|r| r.rebalance)
        .max()
        .unwrap_or_default()
        .as_secs_f64();
    let fetch = (elapsed - rebalance).max(f64::EPSILON);
    let mb = bytes as f64 / (1024.0 * 1024.0);
    println!(
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
    );
    println!(
        "{start_wall}, {end_wall}, {mb:.4}, {:.4}, {messages}, {:.4}, {}, {}, {:.4}, {:.4}",
        mb / elapsed,
        messages as f64 / elapsed,
        (rebalance * 1000.0) as u64,
        (fetch * 1000.0) as u64,
        mb / fetch,
        messages as f64 / fetch,
    );
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

/// How one member gets its partitions.
enum Reading {
    /// A fixed range of partitions (no group).
    Assign(Vec<TopicPartition>),
    /// Subscribed as a member of this group.
    Subscribe(String),
}

struct Outcome {
    messages: u64,
    bytes: u64,
    /// From the start until this member held partitions.
    rebalance: Duration,
}

fn consume(
    log: &Log,
    config: ConsumerConfig,
    reading: &Reading,
    args: &Args,
    consumed: &AtomicU64,
    start: Instant,
) -> Result<Outcome, tidelog::Error> {
    let mut consumer = match reading {
        Reading::Assign(partitions) => {
            let mut consumer = log.consumer(config)?;
            consumer.assign(partitions)?;
            consumer
        }
        Reading::Subscribe(group) => {
            let mut consumer = log.consumer(config.group_id(group.as_str()))?;
            consumer.subscribe([args.topic.as_str()])?;
            consumer
        }
    };
    let mut outcome = Outcome {
        messages: 0,
        bytes: 0,
        rebalance: Duration::ZERO,
    };
    let mut assigned = matches!(reading, Reading::Assign(_));
    let mut idle_since = Instant::now();
    while consumed.load(Ordering::Relaxed) < args.messages {
        let (count, bytes) = poll_once(&mut consumer, args.owned_poll)?;
        if !assigned && !consumer.assignment().is_empty() {
            assigned = true;
            outcome.rebalance = start.elapsed();
        }
        if count == 0 {
            // Others may have read the rest; Kafka's tool also stops after
            // a quiet timeout.
            if idle_since.elapsed() > Duration::from_secs(3) {
                break;
            }
            continue;
        }
        idle_since = Instant::now();
        outcome.messages += count;
        consumed.fetch_add(count, Ordering::Relaxed);
        outcome.bytes += bytes;
    }
    Ok(outcome)
}

/// One poll: how many records, and their value bytes.
fn poll_once(consumer: &mut Consumer, owned: bool) -> Result<(u64, u64), tidelog::Error> {
    let timeout = Duration::from_millis(100);
    let value_len = |value: Option<&[u8]>| value.map_or(0, <[u8]>::len) as u64;
    if owned {
        let records = consumer.poll(timeout)?;
        let bytes = records.iter().map(|r| value_len(r.value())).sum();
        Ok((records.len() as u64, bytes))
    } else {
        let records = consumer.poll_batch(timeout)?;
        let bytes = records.iter().map(|r| value_len(r.value())).sum();
        Ok((records.len() as u64, bytes))
    }
}

fn wall_clock() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}.{:03}", now.subsec_millis())
}
