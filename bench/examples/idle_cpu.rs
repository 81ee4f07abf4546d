//! CPU an idle `Log` costs: brokers, a topic, an idle producer and an idle
//! consumer are set up, some records go through once, then the process's
//! user + system time is read from `/proc/self/stat` over `--seconds` of
//! doing nothing (Linux only).
//!
//! ```text
//! cargo run --release -p tidelog-bench --example idle_cpu -- --brokers 3 --partitions 100 --seconds 5
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::thread;
use std::time::{Duration, Instant};

use tidelog::{ConsumerConfig, Log, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition};
use tidelog_bench::{parse_or_exit, unknown, ArgsError, Flags};

const USAGE: &str = "\
usage: idle_cpu [options]

  --brokers N      simulated brokers (default 3)
  --partitions N   partitions of the topic (default 100)
  --seconds S      how long to measure (default 5)
  -h, --help       this text";

struct Args {
    brokers: u32,
    partitions: u32,
    seconds: u64,
}

fn parse_args(flags: &mut Flags) -> Result<Args, ArgsError> {
    let mut args = Args {
        brokers: 3,
        partitions: 100,
        seconds: 5,
    };
    while let Some(flag) = flags.next_flag()? {
        match flag.as_str() {
            "--brokers" => args.brokers = flags.parsed(&flag)?,
            "--partitions" => args.partitions = flags.parsed(&flag)?,
            "--seconds" => args.seconds = flags.parsed(&flag)?,
            other => return Err(unknown(other)),
        }
    }
    Ok(args)
}

/// User + system CPU seconds of this process so far.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; 100 per second on Linux.
    Some((user + system) / 100.0)
}

fn main() {
    let args = parse_or_exit(USAGE, parse_args);
    if let Err(error) = run(&args) {
        eprintln!("idle_cpu failed: {error}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let log = Log::builder(dir.path()).brokers(args.brokers).open()?;
    log.create_topic("idle", TopicConfig::new().partitions(args.partitions))?;
    let producer = log.producer(ProducerConfig::new())?;
    for p in 0..args.partitions {
        producer.send(ProducerRecord::new("idle", "warm-up").partition(p))?;
    }
    producer.flush();
    let mut consumer = log.consumer(ConsumerConfig::new())?;
    let partitions: Vec<_> = (0..args.partitions)
        .map(|p| TopicPartition::new("idle", p))
        .collect();
    consumer.assign(&partitions)?;
    // Let start-up work (replica catch-up, first fetches) settle.
    thread::sleep(Duration::from_millis(500));
    let before = process_cpu_seconds().ok_or("no /proc/self/stat")?;
    let start = Instant::now();
    thread::sleep(Duration::from_secs(args.seconds));
    let cpu = process_cpu_seconds().ok_or("no /proc/self/stat")? - before;
    let wall = start.elapsed().as_secs_f64();
    println!(
        "idle Log, {} brokers, {} partitions, a producer and a consumer: {:.3} s CPU in {:.1} s = {:.2} % of a core",
        args.brokers,
        args.partitions,
        cpu,
        wall,
        100.0 * cpu / wall
    );
    drop(consumer);
    producer.close();
    Ok(())
}
