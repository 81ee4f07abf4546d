//! Three members of one consumer group share a six-partition topic; one of
//! them dies without leaving. The group notices after `session.timeout.ms`,
//! the survivors take its partitions over from the last committed offsets,
//! and every record is processed (some twice: at-least-once).
//!
//! ```text
//! cargo run --release --example consumer_group
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use tidelog::{
    Consumer, ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, RebalanceListener,
    TopicConfig, TopicPartition,
};

const TOPIC: &str = "orders";
const GROUP: &str = "billing";
const PARTITIONS: u32 = 6;
const RECORDS: u32 = 60_000;
const SESSION_TIMEOUT: Duration = Duration::from_millis(500);
const HEARTBEAT: Duration = Duration::from_millis(100);

/// Prints what the group does to one member, reports new assignments to
/// the main thread, and commits before giving partitions away so their next
/// owner starts where this one stopped.
struct Narrator {
    name: &'static str,
    events: Sender<(u32, &'static str)>,
}

impl RebalanceListener for Narrator {
    fn on_partitions_revoked(
        &mut self,
        consumer: &mut Consumer,
        partitions: &[TopicPartition],
    ) -> tidelog::Result<()> {
        println!("  {} revoked  {}", self.name, names(partitions));
        consumer.commit_sync()
    }

    fn on_partitions_assigned(
        &mut self,
        consumer: &mut Consumer,
        partitions: &[TopicPartition],
    ) -> tidelog::Result<()> {
        let generation = consumer.generation().unwrap_or(0);
        println!(
            "  {} assigned {} (generation {generation})",
            self.name,
            names(partitions)
        );
        let _ = self.events.send((generation, self.name));
        Ok(())
    }
}

fn names(partitions: &[TopicPartition]) -> String {
    let names: Vec<String> = partitions.iter().map(ToString::to_string).collect();
    format!("[{}]", names.join(", "))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let log = Log::builder(dir.path())
        .set("offsets.topic.num.partitions", "6")?
        .open()?;
    log.create_topic(TOPIC, TopicConfig::new().partitions(PARTITIONS))?;
    let producer = log.producer(ProducerConfig::new())?;
    for n in 0..RECORDS {
        producer.send(ProducerRecord::new(TOPIC, n.to_string()).partition(n % PARTITIONS))?;
    }
    producer.flush();
    println!("produced {RECORDS} records to {PARTITIONS} partitions of {TOPIC:?}");

    // How often each record was processed, over all members.
    let processed: Mutex<BTreeMap<u32, u32>> = Mutex::new(BTreeMap::new());
    let kill = AtomicBool::new(false);
    let (events, assignments) = crossbeam_channel::unbounded();
    let config = ConsumerConfig::new()
        .group_id(GROUP)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .session_timeout(SESSION_TIMEOUT)
        .heartbeat_interval(HEARTBEAT)
        .max_poll_records(100);

    thread::scope(|scope| -> Result<(), Box<dyn std::error::Error>> {
        for name in ["member-a", "member-b", "member-c"] {
            let config = config.clone().set("client.id", name)?;
            let listener = Narrator {
                name,
                events: events.clone(),
            };
            let (log, processed, kill) = (&log, &processed, &kill);
            scope.spawn(move || member(log, config, listener, processed, kill));
        }
        wait_for_generation(&assignments, 3);
        print_group(&log, "all three members joined");
        while processed.lock().unwrap().len() < (RECORDS / 4) as usize {
            thread::yield_now();
        }
        kill.store(true, Ordering::Release);
        let killed_at = Instant::now();
        wait_for_generation(&assignments, 2);
        println!(
            "the group rebalanced {:?} after the failure (session.timeout.ms = {SESSION_TIMEOUT:?})",
            killed_at.elapsed()
        );
        println!(
            "  (the session clock starts at the member's last heartbeat, up to \
             heartbeat.interval.ms = {HEARTBEAT:?} before it died, so this can be less than the timeout)"
        );
        print_group(&log, "after the failure");
        Ok(())
    })?;

    let processed = processed.into_inner().unwrap();
    let twice = processed.values().filter(|&&n| n > 1).count();
    println!(
        "processed {} of {RECORDS} records; {twice} of them twice (read after the dead member's last commit)",
        processed.len()
    );
    assert_eq!(processed.len(), RECORDS as usize);
    Ok(())
}

/// One member's poll loop, until every record was processed by someone.
fn member(
    log: &Log,
    config: ConsumerConfig,
    listener: Narrator,
    processed: &Mutex<BTreeMap<u32, u32>>,
    kill: &AtomicBool,
) -> tidelog::Result<()> {
    let name = listener.name;
    let mut consumer = log.consumer(config)?;
    consumer.subscribe_with_listener([TOPIC], listener)?;
    let mut polls = 0u64;
    while processed.lock().unwrap().len() < RECORDS as usize {
        let records = consumer.poll(Duration::from_millis(50))?;
        let mut seen = processed.lock().unwrap();
        for record in &records {
            let value = std::str::from_utf8(record.value().unwrap()).unwrap();
            *seen.entry(value.parse().unwrap()).or_default() += 1;
        }
        drop(seen);
        if name == "member-a" && kill.load(Ordering::Acquire) {
            // Dies right after processing a batch it never commits.
            println!("  {name} dies: no leave, no more heartbeats or commits");
            consumer.kill();
            return Ok(());
        }
        // Stands for slow processing, so the failure happens mid-stream.
        thread::sleep(Duration::from_millis(2));
        // Commit every other poll: the dying member leaves some processed
        // but uncommitted records behind, which the survivors read again.
        polls += 1;
        if polls.is_multiple_of(2) {
            consumer.commit_sync()?;
        }
    }
    consumer.close()
}

/// Waits until one generation has been handed to `members` members.
fn wait_for_generation(assignments: &Receiver<(u32, &'static str)>, members: usize) {
    let mut by_generation: BTreeMap<u32, BTreeSet<&str>> = BTreeMap::new();
    loop {
        let (generation, name) = assignments
            .recv_timeout(Duration::from_secs(60))
            .expect("the group rebalances within a minute");
        let joined = by_generation.entry(generation).or_default();
        joined.insert(name);
        if joined.len() == members {
            return;
        }
    }
}

fn print_group(log: &Log, moment: &str) {
    let description = log.consumer_group(GROUP).describe().unwrap();
    println!(
        "{moment}: group {GROUP:?} is {} at generation {} ({})",
        description.state(),
        description.generation(),
        description.strategy().map_or("-", |s| s.name()),
    );
    for member in description.members() {
        println!(
            "    {} owns {}",
            member.client_id(),
            names(member.assignment())
        );
    }
}
