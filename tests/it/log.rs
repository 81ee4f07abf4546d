//! The front door: opening, locking, topics, names and persistence.

use std::path::Path;
use std::process::Command;

use tidelog::{Error, Log, TopicConfig};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Every file and directory below `root`, relative to it.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn second_open_in_process_fails_with_already_open() -> tidelog::Result<()> {
    let dir = tempdir();
    let log = Log::open(dir.path())?;
    assert!(matches!(
        Log::open(dir.path()),
        Err(Error::AlreadyOpen { .. })
    ));
    log.close()?;
    let again = Log::open(dir.path())?;
    again.close()
}

const CHILD_ENV: &str = "TIDELOG_LOCK_CHILD_DIR";

#[test]
fn second_open_from_another_process_fails_with_already_open() -> tidelog::Result<()> {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        // Child side: report through the exit code what the open returned.
        let code = match Log::open(&dir) {
            Err(Error::AlreadyOpen { .. }) => 0,
            Ok(_) => 1,
            Err(_) => 2,
        };
        std::process::exit(code);
    }
    let dir = tempdir();
    let log = Log::open(dir.path())?;
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "log::second_open_from_another_process_fails_with_already_open",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "child could open a locked directory"
    );
    log.close()
}

#[test]
fn invalid_topic_names_are_refused_and_touch_nothing_outside() -> tidelog::Result<()> {
    let outer = tempdir();
    let dir = outer.path().join("data");
    let log = Log::open(&dir)?;
    let before = tree(outer.path());
    let long = "a".repeat(250);
    for name in [
        "",
        ".",
        "..",
        "a/b",
        "../x",
        "x\0y",
        "caf\u{e9}",
        "/etc",
        long.as_str(),
        "__x",
    ] {
        let result = log.create_topic(name, TopicConfig::new());
        assert!(
            matches!(result, Err(Error::InvalidTopicName { .. })),
            "{name:?} gave {result:?}"
        );
        assert!(matches!(
            log.delete_topic(name),
            Err(Error::InvalidTopicName { .. })
        ));
    }
    assert_eq!(tree(outer.path()), before);
    log.close()
}

#[test]
fn topics_and_their_config_survive_reopen() -> tidelog::Result<()> {
    let dir = tempdir();
    let log = Log::open(dir.path())?;
    let config = TopicConfig::new()
        .partitions(3)
        .set("retention.ms", "60000")?;
    log.create_topic("orders", config.clone())?;
    log.create_topic("payments", TopicConfig::new())?;
    assert!(matches!(
        log.create_topic("orders", TopicConfig::new()),
        Err(Error::TopicAlreadyExists(_))
    ));
    log.close()?;

    let log = Log::open(dir.path())?;
    assert_eq!(
        log.topics(),
        vec!["orders".to_string(), "payments".to_string()]
    );
    let orders = log.topic("orders")?;
    assert_eq!(orders.partition_count(), 3);
    assert_eq!(orders.config()?.to_owned(), config);
    for info in orders.partitions()? {
        assert_eq!(
            (
                info.log_start_offset(),
                info.high_watermark(),
                info.log_end_offset()
            ),
            (0, 0, 0)
        );
    }
    log.close()
}

#[test]
fn deleted_topic_is_gone_with_its_files() -> tidelog::Result<()> {
    let dir = tempdir();
    let log = Log::open(dir.path())?;
    log.create_topic("short-lived", TopicConfig::new().partitions(2))?;
    log.delete_topic("short-lived")?;
    assert!(matches!(
        log.topic("short-lived"),
        Err(Error::UnknownTopic(_))
    ));
    assert!(matches!(
        log.delete_topic("short-lived"),
        Err(Error::UnknownTopic(_))
    ));
    assert!(tree(dir.path()).iter().all(|p| !p.contains("short-lived")));
    log.close()?;
    let log = Log::open(dir.path())?;
    assert!(log.topics().is_empty());
    log.close()
}

#[test]
fn bad_config_values_are_typed_errors() {
    let dir = tempdir();
    for (key, value) in [
        ("log.retention.minutes", "soon"),
        ("message.max.bytes", "0"),
        ("no.such.key", "1"),
        ("log.cleanup.policy", "shred"),
    ] {
        let result = Log::builder(dir.path()).set(key, value);
        assert!(
            matches!(result, Err(Error::InvalidConfig { ref key, .. }) if !key.is_empty()),
            "{key}={value}"
        );
    }
    assert!(matches!(
        Log::builder(dir.path())
            .default_replication_factor(9)
            .open(),
        Err(Error::InvalidReplicationFactor { .. })
    ));
}

#[test]
fn a_single_broker_log_works_without_further_settings() -> tidelog::Result<()> {
    use std::time::Duration;
    use tidelog::{ConsumerConfig, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};

    let dir = tempdir();
    let log = Log::builder(dir.path()).brokers(1).open()?;
    let topic = log.create_topic("solo", TopicConfig::new())?;
    let producer = log.producer(ProducerConfig::new())?; // acks=all
    let sent = producer.send_sync(ProducerRecord::new("solo", "only copy"))?;
    assert_eq!(topic.partition(0)?.high_watermark(), sent.offset() + 1);
    let mut consumer =
        log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    consumer.assign(&[TopicPartition::new("solo", 0)])?;
    let records = consumer.poll(Duration::from_secs(10))?;
    assert_eq!(records.len(), 1);
    producer.close();
    log.close()
}

#[test]
fn min_insync_above_the_replication_factor_is_refused() -> tidelog::Result<()> {
    let dir = tempdir();
    let log = Log::open(dir.path())?;
    let config = TopicConfig::new()
        .replication_factor(1)
        .set("min.insync.replicas", "2")?;
    let result = log.create_topic("unreadable", config);
    assert!(
        matches!(result, Err(Error::InvalidConfig { ref key, .. }) if key == "min.insync.replicas"),
        "{result:?}"
    );
    // Without an explicit value, a one-replica topic gets min.insync.replicas 1.
    log.create_topic("single-copy", TopicConfig::new().replication_factor(1))?;
    let explicit = Log::builder(dir.path().join("explicit"))
        .set("min.insync.replicas", "2")?
        .open()?;
    assert!(matches!(
        explicit.create_topic("t", TopicConfig::new().replication_factor(1)),
        Err(Error::InvalidConfig { .. })
    ));
    explicit.close()?;
    log.close()
}

/// Names of this process's threads that tidelog started (Linux keeps the
/// first 15 bytes of a thread name in /proc).
fn tidelog_threads() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new(); // not Linux: nothing to check
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| name.starts_with("tidelog"))
        .collect()
}

const THREADS_CHILD_ENV: &str = "TIDELOG_THREADS_CHILD";

#[test]
fn closing_everything_leaves_no_thread_behind() -> tidelog::Result<()> {
    use std::time::Duration;
    use tidelog::{ConsumerConfig, ProducerConfig, ProducerRecord};

    if std::env::var(THREADS_CHILD_ENV).is_err() {
        // Other tests of this binary run threads of their own, so the check
        // runs alone, in a child process.
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "log::closing_everything_leaves_no_thread_behind",
                "--nocapture",
            ])
            .env(THREADS_CHILD_ENV, "1")
            .status()
            .unwrap();
        assert!(status.success(), "threads outlived their owners");
        return Ok(());
    }
    let dir = tempdir();
    let log = Log::open(dir.path())?;
    log.create_topic("t", TopicConfig::new().partitions(2))?;
    let producer = log.producer(ProducerConfig::new())?;
    producer.send_sync(ProducerRecord::new("t", "x"))?;
    let mut member = log.consumer(
        ConsumerConfig::new()
            .group_id("g")
            .set("auto.offset.reset", "earliest")?,
    )?;
    member.subscribe(["t"])?;
    let _ = member.poll(Duration::from_secs(5))?;
    assert!(
        !tidelog_threads().is_empty(),
        "no tidelog threads seen at all"
    );
    member.close()?;
    producer.close();
    drop(producer);
    log.close()?;
    assert_eq!(tidelog_threads(), Vec::<String>::new());

    // Dropping instead of closing joins the same threads.
    let log = Log::open(dir.path())?;
    let producer = log.producer(ProducerConfig::new())?;
    producer.send(ProducerRecord::new("t", "y"))?;
    let mut member = log.consumer(ConsumerConfig::new().group_id("g"))?;
    member.subscribe(["t"])?;
    let _ = member.poll(Duration::from_millis(200))?;
    drop(member);
    drop(producer);
    drop(log);
    assert_eq!(tidelog_threads(), Vec::<String>::new());
    Ok(())
}
