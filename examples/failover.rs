//! Leader failover, watched from the outside: produce with `acks=all`, kill
//! the partition's leader, see who the controller elects, and check that
//! every acknowledged record is still there.
//!
//! ```text
//! cargo run --release --example failover                 # one kill
//! cargo run --release --example failover -- --kills 20   # and a median
//! cargo run --release --example failover -- --kills 20 --session-ms 300
//! ```
//!
//! The failover time is measured from the kill to the next acknowledged
//! `acks=all` write. It is dominated by `broker.session.timeout.ms`: a
//! killed broker says nothing, so the controller only acts once its
//! heartbeats have been missing that long (plus at most one controller
//! tick, `broker.heartbeat.interval.ms`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tidelog::{
    Acks, ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicConfig,
    TopicPartition,
};

const TOPIC: &str = "payments";

const USAGE: &str = "\
usage: failover [options]

  --kills N          leader kills to measure; the median is reported (default 1)
  --session-ms MS    broker.session.timeout.ms, how long a silent broker lives on (default 1000)
  -h, --help         this text";

/// `--kills` and `--session-ms`; anything else is refused, so a typo
/// never runs the default silently.
fn parse_args() -> Result<(usize, u64), String> {
    let (mut kills, mut session) = (1, 1000);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            value
                .parse()
                .map_err(|_| format!("{name}: {value:?} is not a whole number"))
        };
        match flag.as_str() {
            "--kills" => kills = number("--kills")?.max(1) as usize,
            "--session-ms" => session = number("--session-ms")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((kills, session))
}

fn main() {
    let (kills, session) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(kills, session) {
        eprintln!("failover failed: {error}");
        std::process::exit(1);
    }
}

/// Shows a broker id, or that the partition has no leader.
fn broker(id: Option<u32>) -> String {
    id.map_or_else(|| "none".to_string(), |id| id.to_string())
}

fn run(kills: usize, session: u64) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let log = Log::builder(dir.path())
        .set("broker.session.timeout.ms", &session.to_string())?
        .open()?;
    log.create_topic(TOPIC, TopicConfig::new())?;
    let cluster = log.cluster();
    // A short, flat retry backoff, so the time measured is the cluster's
    // and not the producer's exponential backoff between retries.
    let producer = log.producer(
        ProducerConfig::new()
            .acks(Acks::All)
            .idempotence(true)
            .retry_backoff(Duration::from_millis(5))
            .set("retry.backoff.max.ms", "5")?,
    )?;
    let mut acknowledged = Vec::new();
    let mut send = |i: usize| -> tidelog::Result<()> {
        let value = format!("payment-{i}");
        let meta = producer.send_sync(ProducerRecord::new(TOPIC, value.clone()).partition(0))?;
        acknowledged.push((meta.offset(), value));
        Ok(())
    };
    let mut next = 0;
    for _ in 0..100 {
        send(next)?;
        next += 1;
    }
    let state = cluster.partition(TOPIC, 0)?;
    println!(
        "{TOPIC}-0: replicas {:?}, leader {}, in sync {:?}, epoch {}",
        state.replicas(),
        broker(state.leader()),
        state.in_sync_replicas(),
        state.leader_epoch()
    );

    let mut times = Vec::new();
    for round in 1..=kills {
        let before = cluster.partition(TOPIC, 0)?;
        let leader = before.leader().ok_or("no leader")?;
        let started = Instant::now();
        cluster.broker(leader)?.kill()?;
        send(next)?; // retried by the producer until a new leader takes it
        next += 1;
        let took = started.elapsed();
        times.push(took);
        let after = cluster.partition(TOPIC, 0)?;
        println!(
            "kill {round}: broker {leader} killed; broker {} elected (epoch {} -> {}), in sync {:?}; next acks=all write acknowledged after {:.0} ms",
            broker(after.leader()),
            before.leader_epoch(),
            after.leader_epoch(),
            after.in_sync_replicas(),
            took.as_secs_f64() * 1000.0
        );
        cluster.broker(leader)?.restart()?;
        let healed = cluster.wait_until(Duration::from_secs(30), |c| {
            c.partition(TOPIC, 0)
                .is_ok_and(|p| p.in_sync_replicas().len() == p.replicas().len())
        });
        assert!(healed, "broker {leader} did not catch up");
        for _ in 0..20 {
            send(next)?;
            next += 1;
        }
    }
    times.sort();
    if let Some(median) = times.get(times.len() / 2) {
        println!(
            "failover (kill -> next acknowledged acks=all write): median {:.0} ms over {} kills, min {:.0} ms, max {:.0} ms",
            median.as_secs_f64() * 1000.0,
            times.len(),
            times.first().map_or(0.0, |t| t.as_secs_f64() * 1000.0),
            times.last().map_or(0.0, |t| t.as_secs_f64() * 1000.0),
        );
    }

    let mut consumer =
        log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    consumer.assign(&[TopicPartition::new(TOPIC, 0)])?;
    let mut read = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while read.len() < acknowledged.len() && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(200))? {
            let value = String::from_utf8_lossy(r.value().unwrap_or_default()).into_owned();
            read.push((r.offset(), value));
        }
    }
    let missing = acknowledged.iter().filter(|a| !read.contains(a)).count();
    println!(
        "{} acknowledged records, {} read back, {missing} missing",
        acknowledged.len(),
        read.len()
    );
    assert_eq!(missing, 0, "an acknowledged record was lost");
    log.close()?;
    Ok(())
}
