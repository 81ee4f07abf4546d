//! Consumer-group performance: read throughput of a subscribed group, and
//! how long a rebalance takes after a clean leave and after a failure.
//!
//! ```text
//! cargo run --release -p tidelog-bench --example group_perf -- throughput --members 3 --messages 5000000
//! cargo run --release -p tidelog-bench --example group_perf -- leave --rounds 20
//! cargo run --release -p tidelog-bench --example group_perf -- kill --rounds 10 --session-ms 300
//! ```
//!
//! - `throughput`: fills a 6-partition topic with 100-byte records
//!   (untimed), then times `--members` subscribed members of one group, each
//!   on its own thread, reading all of them. The rebalance that admits them
//!   is included.
//! - `leave` / `kill`: three members on their own threads, polling in a
//!   loop. One of them closes (or is killed); the time reported runs from
//!   that moment until both survivors hold the next generation's
//!   assignment. After a kill that includes `session.timeout.ms`; the line
//!   also shows the time beyond it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use tidelog::{
    Consumer, ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, RebalanceListener,
    TopicConfig, TopicPartition,
};
use tidelog_bench::{parse_or_exit, unknown, ArgsError, Flags};

const TOPIC: &str = "perf";
const PARTITIONS: u32 = 6;

const USAGE: &str = "\
usage: group_perf [throughput|leave|kill] [options]   (default mode: throughput)

  throughput: fill a 6-partition topic, then time a group reading all of it
    --members N        members of the group, one thread each (default 3)
    --messages N       records to fill and read (default 5000000)
  leave | kill: three members; one closes (leave) or dies (kill); time the rebalance
    --rounds N         rebalances to measure; the median is reported (default 10)
    --session-ms MS    session.timeout.ms of the members (default 300)
  -h, --help           this text";

struct Args {
    mode: String,
    members: u32,
    messages: u64,
    rounds: u32,
    session: Duration,
}

fn parse_args(flags: &mut Flags) -> Result<Args, ArgsError> {
    let mut args = Args {
        mode: "throughput".into(),
        members: 3,
        messages: 5_000_000,
        rounds: 10,
        session: Duration::from_millis(300),
    };
    while let Some(flag) = flags.next_flag()? {
        match flag.as_str() {
            "--members" => args.members = flags.parsed::<u32>(&flag)?.max(1),
            "--messages" => args.messages = flags.parsed(&flag)?,
            "--rounds" => args.rounds = flags.parsed::<u32>(&flag)?.max(1),
            "--session-ms" => args.session = Duration::from_millis(flags.parsed(&flag)?),
            "throughput" | "leave" | "kill" => args.mode = flag,
            other => return Err(unknown(other)),
        }
    }
    Ok(args)
}

fn main() {
    let args = parse_or_exit(USAGE, parse_args);
    if let Err(error) = run(&args) {
        eprintln!("group_perf failed: {error}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let log = Log::builder(dir.path())
        .set("offsets.topic.num.partitions", "3")?
        .open()?;
    log.create_topic(TOPIC, TopicConfig::new().partitions(PARTITIONS))?;
    if args.mode == "throughput" {
        throughput(&log, args)
    } else {
        rebalances(&log, args)
    }
}

fn config(group: &str) -> ConsumerConfig {
    ConsumerConfig::new()
        .group_id(group)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
}

fn throughput(log: &Log, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    eprintln!(
        "filling {TOPIC:?} with {} records of 100 bytes ...",
        args.messages
    );
    let producer = log.producer(ProducerConfig::new().set("acks", "1")?)?;
    let record = ProducerRecord::new(TOPIC, Bytes::from(vec![b'x'; 100]));
    for _ in 0..args.messages {
        producer.send(record.clone())?;
    }
    producer.close();
    // Members that join while others already read take partitions over
    // from them; nothing is committed during the test, so the new owner
    // starts again at the log start and re-reads what the old one had
    // polled, as a Kafka application without commits would. `next` holds
    // each partition's next unread offset, so `total` counts distinct
    // records and the re-deliveries are reported apart.
    let next: Vec<AtomicU64> = (0..PARTITIONS).map(|_| AtomicU64::new(0)).collect();
    let distinct = || next.iter().map(|n| n.load(Ordering::Relaxed)).sum::<u64>();
    let polled = AtomicU64::new(0);
    let start = Instant::now();
    thread::scope(|scope| {
        for _ in 0..args.members {
            let (next, distinct, polled, total) = (&next, &distinct, &polled, args.messages);
            scope.spawn(move || -> tidelog::Result<()> {
                let mut consumer = log.consumer(config("perf"))?;
                consumer.subscribe([TOPIC])?;
                while distinct() < total {
                    let records = consumer.poll(Duration::from_millis(20))?;
                    polled.fetch_add(records.len() as u64, Ordering::Relaxed);
                    for record in &records {
                        if let Some(n) = next.get(record.partition() as usize) {
                            n.fetch_max(record.offset() + 1, Ordering::Relaxed);
                        }
                    }
                }
                consumer.close()
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let total = distinct();
    let again = polled.load(Ordering::Relaxed).saturating_sub(total);
    println!(
        "{} members, {PARTITIONS} partitions: {total} records in {elapsed:.3} s = {:.2} M records/s, {:.1} MB/s of values",
        args.members,
        total as f64 / elapsed / 1e6,
        total as f64 * 100.0 / elapsed / 1e6,
    );
    if again > 0 {
        println!(
            "{again} records were delivered twice: partitions moved while members joined, \
             and without commits the new owner starts over (not counted above)"
        );
    }
    Ok(())
}

/// Reports each generation a member is handed.
struct Reporter(Sender<u32>);

impl RebalanceListener for Reporter {
    fn on_partitions_assigned(
        &mut self,
        consumer: &mut Consumer,
        _: &[TopicPartition],
    ) -> tidelog::Result<()> {
        let _ = self.0.send(consumer.generation().unwrap_or(0));
        Ok(())
    }
}

fn rebalances(log: &Log, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let kill = args.mode == "kill";
    let mut times = Vec::new();
    for round in 0..args.rounds {
        let group = format!("round-{round}");
        let stop = AtomicBool::new(false);
        let (leave_tx, leave_rx) = crossbeam_channel::bounded::<Sender<Instant>>(1);
        let (reports, generations) = crossbeam_channel::unbounded();
        let elapsed = thread::scope(|scope| {
            for member in 0..3 {
                // The victim heartbeats every millisecond, so its last
                // heartbeat is the moment it dies: what follows is the
                // session timeout plus the rebalance itself.
                let heartbeat = match member {
                    0 => Duration::from_millis(1),
                    _ => args.session / 3,
                };
                let config = config(&group)
                    .session_timeout(args.session)
                    .heartbeat_interval(heartbeat);
                let (stop, reports) = (&stop, reports.clone());
                let leave = (member == 0).then(|| leave_rx.clone());
                scope.spawn(move || member_loop(log, config, reports, leave, kill, stop));
            }
            let stable = wait_for_generation(&generations, 3, 0);
            let (started_tx, started) = crossbeam_channel::bounded(1);
            leave_tx.send(started_tx).unwrap();
            wait_for_generation(&generations, 2, stable + 1);
            let start = started.recv().unwrap();
            let elapsed = start.elapsed();
            stop.store(true, Ordering::Release);
            elapsed
        });
        times.push(elapsed);
    }
    times.sort();
    let median = times[times.len() / 2];
    let what = if kill { "kill" } else { "clean leave" };
    print!(
        "rebalance after a {what}: median {median:?} over {} rounds (min {:?}, max {:?})",
        times.len(),
        times[0],
        times[times.len() - 1],
    );
    if kill {
        print!(
            "; beyond the session timeout: {:?}",
            median.saturating_sub(args.session)
        );
    }
    println!();
    Ok(())
}

fn member_loop(
    log: &Log,
    config: ConsumerConfig,
    reports: Sender<u32>,
    leave: Option<Receiver<Sender<Instant>>>,
    kill: bool,
    stop: &AtomicBool,
) -> tidelog::Result<()> {
    let mut consumer = log.consumer(config)?;
    consumer.subscribe_with_listener([TOPIC], Reporter(reports))?;
    while !stop.load(Ordering::Acquire) {
        consumer.poll(Duration::from_millis(5))?;
        if let Some(started) = leave.as_ref().and_then(|l| l.try_recv().ok()) {
            // Timed from here: the member is about to go.
            let _ = started.send(Instant::now());
            if kill {
                consumer.kill();
                return Ok(());
            }
            return consumer.close();
        }
    }
    consumer.close()
}

/// Waits until `members` members report one generation after `after`;
/// returns it.
fn wait_for_generation(generations: &Receiver<u32>, members: usize, after: u32) -> u32 {
    let mut counts = std::collections::BTreeMap::new();
    loop {
        let generation = generations
            .recv_timeout(Duration::from_secs(60))
            .expect("a rebalance");
        if generation < after {
            continue;
        }
        let count = counts.entry(generation).or_insert(0);
        *count += 1;
        if *count == members {
            return generation;
        }
    }
}
