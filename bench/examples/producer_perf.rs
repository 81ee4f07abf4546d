//! Producer throughput and latency, in the shape of Kafka's
//! `kafka-producer-perf-test`.
//!
//! ```text
//! cargo run --release -p tidelog-bench --example producer_perf -- --num-records 20000000 --record-size 100 \
//!     --throughput -1 --partitions 6 --brokers 1 --producer-props acks=1
//! cargo run --release -p tidelog-bench --example producer_perf -- --mode sync --num-records 100000 --producer-props acks=1
//! cargo run --release -p tidelog-bench --example producer_perf -- --mode e2e --num-records 100000 --producer-props acks=1
//! cargo run --release -p tidelog-bench --example producer_perf -- --partitions 1 --producer-props acks=1 \
//!     --compression-type lz4 --payload json
//! ```
//!
//! Modes: `fire` (`send`; latency sampled with a callback on one record in
//! a thousand), `callback` (`send_with_callback` on every record, Kafka's
//! tool's behaviour), `sync` (`send_sync`, one at a time) and `e2e` (one
//! record at a time from `send_sync` to another thread's `poll`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tidelog::{
    ConsumerConfig, Log, Producer, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition,
};
use tidelog_bench::{parse_or_exit, unknown, ArgsError, Flags};

const USAGE: &str = "\
usage: producer_perf [options]

  --topic T                    topic to produce to (default perf; created when missing)
  --num-records N              records to send (default 1000000)
  --record-size B              value size in bytes (default 100)
  --payload letters|json|random
                               the values: one repeated alphabet run, JSON-like objects with the
                               same field names and small varying values, or random bytes; json
                               and random cycle through 8192 distinct values (default letters)
  --compression-type C         none|gzip|snappy|lz4|zstd, the producer's compression.type
                               (default: the producer's, none)
  --throughput R               records per second to aim for, -1 for no limit (default -1)
  --producer-props k=v ...     producer settings, Kafka's names (default: none, so acks=all)
  --partitions N               partitions of a new topic (default 6)
  --topic-props k=v ...        settings of a new topic, Kafka's names (e.g. flush.messages=1)
  --brokers N                  simulated brokers (default 1)
  --mode fire|callback|sync|e2e
                               send, send_with_callback, send_sync, or send_sync to another
                               thread's poll (default fire)
  --threads N                  producing threads sharing one producer (default 1)
  --dir PATH                   data directory (default: a temporary one)
  -h, --help                   this text";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fire,
    Callback,
    Sync,
    EndToEnd,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Payload {
    Letters,
    Json,
    Random,
}

struct Args {
    topic: String,
    num_records: u64,
    record_size: usize,
    payload: Payload,
    compression: Option<String>,
    throughput: f64,
    props: Vec<(String, String)>,
    topic_props: Vec<(String, String)>,
    partitions: u32,
    brokers: u32,
    mode: Mode,
    threads: u64,
    dir: Option<PathBuf>,
}

fn parse_args(flags: &mut Flags) -> Result<Args, ArgsError> {
    let mut args = Args {
        topic: "perf".into(),
        num_records: 1_000_000,
        record_size: 100,
        payload: Payload::Letters,
        compression: None,
        throughput: -1.0,
        props: Vec::new(),
        topic_props: Vec::new(),
        partitions: 6,
        brokers: 1,
        mode: Mode::Fire,
        threads: 1,
        dir: None,
    };
    while let Some(flag) = flags.next_flag()? {
        match flag.as_str() {
            "--topic" => args.topic = flags.value(&flag)?,
            "--num-records" => args.num_records = flags.parsed(&flag)?,
            "--record-size" => args.record_size = flags.parsed(&flag)?,
            "--throughput" => args.throughput = flags.parsed(&flag)?,
            "--partitions" => args.partitions = flags.parsed(&flag)?,
            "--brokers" => args.brokers = flags.parsed(&flag)?,
            "--threads" => args.threads = flags.parsed::<u64>(&flag)?.max(1),
            "--dir" => args.dir = Some(flags.value(&flag)?.into()),
            "--compression-type" => {
                let codec = flags.value(&flag)?;
                if tidelog::Compression::from_name(&codec).is_none() {
                    return Err(ArgsError::Bad(format!(
                        "--compression-type: {codec:?} is not none, gzip, snappy, lz4 or zstd"
                    )));
                }
                args.compression = Some(codec);
            }
            "--payload" => {
                args.payload = match flags.value(&flag)?.as_str() {
                    "letters" => Payload::Letters,
                    "json" => Payload::Json,
                    "random" => Payload::Random,
                    other => {
                        return Err(ArgsError::Bad(format!(
                            "--payload: {other:?} is not letters, json or random"
                        )))
                    }
                }
            }
            "--mode" => {
                args.mode = match flags.value(&flag)?.as_str() {
                    "fire" => Mode::Fire,
                    "callback" => Mode::Callback,
                    "sync" => Mode::Sync,
                    "e2e" => Mode::EndToEnd,
                    other => {
                        return Err(ArgsError::Bad(format!(
                            "--mode: {other:?} is not fire, callback, sync or e2e"
                        )))
                    }
                }
            }
            "--producer-props" => args.props = flags.properties(&flag)?,
            "--topic-props" => args.topic_props = flags.properties(&flag)?,
            other => return Err(unknown(other)),
        }
    }
    Ok(args)
}

/// Latency statistics, Kafka's tool's way: totals over everything, and a
/// bounded sample for percentiles.
struct Stats {
    count: u64,
    bytes: u64,
    total_latency_us: u64,
    max_latency_us: u64,
    latencies_us: Vec<u32>,
    sample_every: u64,
    observed: u64,
    window: Window,
}

struct Window {
    start: Instant,
    count: u64,
    bytes: u64,
    total_latency_us: u64,
    max_latency_us: u64,
    latencies: u64,
}

impl Window {
    fn new(now: Instant) -> Self {
        Window {
            start: now,
            count: 0,
            bytes: 0,
            total_latency_us: 0,
            max_latency_us: 0,
            latencies: 0,
        }
    }
}

impl Stats {
    fn new(records: u64) -> Self {
        let now = Instant::now();
        Stats {
            count: 0,
            bytes: 0,
            total_latency_us: 0,
            max_latency_us: 0,
            latencies_us: Vec::with_capacity(500_000),
            sample_every: (records / 500_000).max(1),
            observed: 0,
            window: Window::new(now),
        }
    }

    fn sent(&mut self, records: u64, bytes: u64) {
        self.count += records;
        self.bytes += bytes;
        self.window.count += records;
        self.window.bytes += bytes;
    }

    fn latency(&mut self, latency: Duration) {
        let us = latency.as_micros() as u64;
        self.total_latency_us += us;
        self.max_latency_us = self.max_latency_us.max(us);
        self.window.total_latency_us += us;
        self.window.max_latency_us = self.window.max_latency_us.max(us);
        self.window.latencies += 1;
        if self.observed.is_multiple_of(self.sample_every) {
            self.latencies_us.push(us.min(u64::from(u32::MAX)) as u32);
        }
        self.observed += 1;
    }

    fn maybe_print_window(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.window.start);
        if elapsed < Duration::from_secs(5) {
            return;
        }
        let w = &self.window;
        let secs = elapsed.as_secs_f64();
        println!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.3} ms avg latency, {:.3} ms max latency.",
            w.count,
            w.count as f64 / secs,
            w.bytes as f64 / secs / (1024.0 * 1024.0),
            w.total_latency_us as f64 / w.latencies.max(1) as f64 / 1000.0,
            w.max_latency_us as f64 / 1000.0
        );
        self.window = Window::new(now);
    }

    fn print_total(&mut self, elapsed: Duration) {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| {
            let n = self.latencies_us.len();
            if n == 0 {
                return 0.0;
            }
            let i = ((n as f64 * p) as usize).min(n - 1);
            f64::from(self.latencies_us[i]) / 1000.0
        };
        let secs = elapsed.as_secs_f64();
        println!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.3} ms avg latency, {:.3} ms max latency, \
{:.3} ms 50th, {:.3} ms 95th, {:.3} ms 99th, {:.3} ms 99.9th.",
            self.count,
            self.count as f64 / secs,
            self.bytes as f64 / secs / (1024.0 * 1024.0),
            self.total_latency_us as f64 / self.observed.max(1) as f64 / 1000.0,
            self.max_latency_us as f64 / 1000.0,
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999),
        );
    }
}

/// Sleeps just enough to hold `throughput` records per second (Kafka's
/// throttler does the same); a negative throughput means no limit.
struct Throttle {
    per_sec: f64,
    start: Instant,
}

impl Throttle {
    fn wait(&self, sent: u64) {
        if self.per_sec <= 0.0 {
            return;
        }
        let due = self.start + Duration::from_secs_f64(sent as f64 / self.per_sec);
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
    }
}

fn main() {
    let args = parse_or_exit(USAGE, parse_args);
    if let Err(error) = run(&args) {
        eprintln!("producer_perf failed: {error}");
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
    let mut topic = TopicConfig::new().partitions(args.partitions);
    for (key, value) in &args.topic_props {
        topic = topic.set(key, value)?;
    }
    log.create_topic_if_not_exists(&args.topic, topic)?;
    let mut config = ProducerConfig::new();
    if args.mode == Mode::EndToEnd {
        config = config.set("linger.ms", "0")?;
    }
    if let Some(codec) = &args.compression {
        config = config.set("compression.type", codec)?;
    }
    for (key, value) in &args.props {
        config = config.set(key, value)?;
    }
    let producer = log.producer(config)?;
    let payloads = Arc::new(payloads(args.payload, args.record_size));
    let stats = Arc::new(Mutex::new(Stats::new(args.num_records)));
    let mut cpu_report = Vec::new();
    let start = Instant::now();
    match args.mode {
        Mode::EndToEnd => end_to_end(&log, &producer, args, &stats)?,
        _ => {
            let per_thread = args.num_records / args.threads;
            thread::scope(|scope| -> Result<(), tidelog::Error> {
                let handles: Vec<_> = (0..args.threads)
                    .map(|t| {
                        let extra = if t == 0 {
                            args.num_records % args.threads
                        } else {
                            0
                        };
                        let (producer, stats, payloads) = (&producer, &stats, &payloads);
                        scope.spawn(move || {
                            produce(producer, args, per_thread + extra, payloads, stats)
                        })
                    })
                    .collect();
                for (t, handle) in handles.into_iter().enumerate() {
                    let cpu = handle.join().expect("producer thread")?;
                    cpu_report.push(format!("sending thread {t} {cpu:.2} s"));
                }
                Ok(())
            })?;
        }
    }
    producer.flush();
    // Read before close: the sender thread ends with it.
    if let Some(cpu) = sender_cpu_seconds() {
        cpu_report.push(format!("sender thread {cpu:.2} s"));
    }
    producer.close();
    let elapsed = start.elapsed();
    stats.lock().print_total(elapsed);
    if producer.failed_sends() > 0 {
        eprintln!("{} records failed", producer.failed_sends());
    }
    if !cpu_report.is_empty() {
        // Which side is the bottleneck: the callers' encoding or the sender's appends.
        eprintln!("cpu time: {}", cpu_report.join(", "));
    }
    drop(log);
    let on_disk = log_file_bytes(&dir);
    let sent = args.num_records * args.record_size as u64;
    println!(
        "on disk: {on_disk} bytes in .log files ({:.3} of the {sent} value bytes sent)",
        on_disk as f64 / sent.max(1) as f64
    );
    Ok(())
}

/// The values to send, cycled. `letters` is one value; `json` and `random`
/// are 8192 distinct ones, more than a batch holds, so that a compressed
/// batch gains only from what repeats within and across its records.
fn payloads(kind: Payload, size: usize) -> Vec<Bytes> {
    const DISTINCT: u64 = 8192;
    match kind {
        Payload::Letters => vec![Bytes::from(
            (0..size)
                .map(|i| b'A' + (i % 26) as u8)
                .collect::<Vec<u8>>(),
        )],
        Payload::Json => (0..DISTINCT).map(|i| json_value(i, size)).collect(),
        Payload::Random => {
            let mut state = 0x9E37_79B9_7F4A_7C15u64;
            (0..DISTINCT)
                .map(|_| {
                    let value: Vec<u8> = (0..size)
                        .map(|_| (splitmix(&mut state) >> 56) as u8)
                        .collect();
                    Bytes::from(value)
                })
                .collect()
        }
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A JSON-like event of exactly `size` bytes: fixed field names, small
/// values drawn from `i`, padded with a `note` of common words (or cut
/// short when `size` is below the fields' length).
fn json_value(i: u64, size: usize) -> Bytes {
    const EVENTS: [&str; 4] = ["view", "click", "purchase", "search"];
    const WORDS: [&str; 6] = ["alpha ", "beta ", "gamma ", "delta ", "ok ", "retry "];
    let mut state = i;
    let r = splitmix(&mut state);
    let mut text = format!(
        r#"{{"id":{},"user":"user-{:04}","event":"{}","ts":{},"score":{}.{:02},"ok":{}"#,
        100_000 + i,
        r % 1000,
        EVENTS[(r >> 10) as usize % EVENTS.len()],
        1_700_000_000_000u64 + i * 37,
        (r >> 20) % 100,
        (r >> 30) % 100,
        (r >> 40).is_multiple_of(2)
    );
    if text.len() + 12 <= size {
        text.push_str(r#","note":""#);
        let mut w = (r >> 44) as usize;
        while text.len() + 2 < size {
            text.push_str(WORDS[w % WORDS.len()]);
            w = w.wrapping_mul(31).wrapping_add(7);
        }
        text.truncate(size - 2);
        text.push_str("\"}");
    } else if text.len() < size {
        text.push('}');
    }
    let mut bytes = text.into_bytes();
    bytes.resize(size, b' ');
    Bytes::from(bytes)
}

/// Bytes in the segment files under `dir` (indexes and checkpoints aside).
fn log_file_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                log_file_bytes(&path)
            } else if path.extension().is_some_and(|e| e == "log") {
                entry.metadata().map(|m| m.len()).unwrap_or(0)
            } else {
                0
            }
        })
        .sum()
}

/// User + system CPU seconds of one thread, from `/proc` (Linux only).
fn cpu_seconds(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; 100 per second on Linux.
    Some((user + system) / 100.0)
}

fn sender_cpu_seconds() -> Option<f64> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .find_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if !comm.starts_with("tidelog-produce") {
                return None;
            }
            cpu_seconds(&task.path().join("stat").to_string_lossy())
        })
}

fn produce(
    producer: &Producer,
    args: &Args,
    records: u64,
    payloads: &[Bytes],
    stats: &Arc<Mutex<Stats>>,
) -> Result<f64, tidelog::Error> {
    let templates: Vec<ProducerRecord> = payloads
        .iter()
        .map(|p| ProducerRecord::new(args.topic.as_str(), p.clone()))
        .collect();
    let size = args.record_size as u64;
    let throttle = Throttle {
        per_sec: args.throughput / args.threads as f64,
        start: Instant::now(),
    };
    let mut unreported = 0;
    for i in 0..records {
        throttle.wait(i);
        let record = templates[i as usize % templates.len()].clone();
        match args.mode {
            Mode::Fire if i % 1000 != 0 => producer.send(record)?,
            Mode::Sync => {
                let sent = Instant::now();
                producer.send_sync(record)?;
                let mut stats = stats.lock();
                stats.latency(sent.elapsed());
            }
            _ => {
                let sent = Instant::now();
                let stats = Arc::clone(stats);
                producer.send_with_callback(record, move |result| {
                    if result.is_ok() {
                        stats.lock().latency(sent.elapsed());
                    }
                })?;
            }
        }
        unreported += 1;
        if unreported == 4096 || args.mode == Mode::Sync {
            let mut stats = stats.lock();
            stats.sent(unreported, unreported * size);
            stats.maybe_print_window();
            unreported = 0;
        }
    }
    stats.lock().sent(unreported, unreported * size);
    producer.flush();
    Ok(cpu_seconds("/proc/thread-self/stat").unwrap_or(0.0))
}

/// One record at a time: `send_sync`, then wait until another thread's
/// `poll` returned it; the latency is send start to poll return.
fn end_to_end(
    log: &Log,
    producer: &Producer,
    args: &Args,
    stats: &Arc<Mutex<Stats>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut consumer = log.consumer(ConsumerConfig::new().max_poll_records(1))?;
    let tps: Vec<_> = (0..args.partitions)
        .map(|p| TopicPartition::new(args.topic.as_str(), p))
        .collect();
    consumer.assign(&tps)?;
    consumer.seek_to_end(&[])?;
    let (sent_tx, sent_rx) = mpsc::channel::<Instant>();
    let (seen_tx, seen_rx) = mpsc::channel::<()>();
    let size = args.record_size as u64;
    let payload = Bytes::from(vec![b'e'; args.record_size]);
    thread::scope(|scope| -> Result<(), Box<dyn std::error::Error>> {
        let stats_c = Arc::clone(stats);
        scope.spawn(move || {
            for sent in sent_rx {
                // One generous wait: an acknowledged record that never
                // becomes readable is a failure, not something to wait out.
                let records = consumer.poll(Duration::from_secs(30)).expect("poll");
                if records.is_empty() {
                    eprintln!("an acknowledged record did not reach the consumer within 30 s");
                    return;
                }
                let mut stats = stats_c.lock();
                stats.latency(sent.elapsed());
                stats.sent(1, size);
                stats.maybe_print_window();
                drop(stats);
                if seen_tx.send(()).is_err() {
                    return;
                }
            }
        });
        for _ in 0..args.num_records {
            let sent = Instant::now();
            sent_tx.send(sent)?;
            producer.send_sync(ProducerRecord::new(args.topic.as_str(), payload.clone()))?;
            seen_rx.recv()?;
        }
        drop(sent_tx);
        Ok(())
    })
}
