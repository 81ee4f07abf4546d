//! The targets the suite runs against, and the waits every test shares.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tidelog::{Consumer, ConsumerConfig, ConsumerRecord, Log, Result, TopicConfig};

/// How long anything may take before a test gives up: a real broker's first
/// group join takes seconds, never tens of them.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// Which log a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `Log::open` on a temporary directory.
    Embedded,
    /// `Log::connect` to tidelog's own Kafka listener over an embedded log.
    Listener,
    /// `Log::connect` to the Apache Kafka broker at `TIDELOG_KAFKA_BOOTSTRAP`.
    Kafka,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Embedded => "embedded",
            Kind::Listener => "listener",
            Kind::Kafka => "kafka",
        }
    }
}

/// An open log of one kind, with whatever keeps it alive.
pub(crate) struct Target {
    kind: Kind,
    // Dropped first: a remote log disconnects before its server goes away.
    log: Log,
    _keep: Vec<Box<dyn std::any::Any>>,
}

/// Runs `test` against `kind`, or says why that target is skipped. A
/// failure names the target.
pub(crate) fn run(kind: Kind, test: fn(&Target) -> Result<()>) {
    let target = match Target::open(kind) {
        Ok(target) => target,
        Err(Unavailable(why)) => {
            eprintln!("conformance target {} skipped: {why}", kind.name());
            return;
        }
    };
    if let Err(e) = test(&target) {
        panic!("[{} target] {e} ({e:?})", kind.name());
    }
}

/// Why a target cannot run here.
pub(crate) struct Unavailable(String);

impl Target {
    fn open(kind: Kind) -> std::result::Result<Target, Unavailable> {
        match kind {
            Kind::Embedded => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let log = Log::open(dir.path()).expect("open the embedded log");
                Ok(Target {
                    kind,
                    log,
                    _keep: vec![Box::new(dir)],
                })
            }
            Kind::Listener | Kind::Kafka => remote::open(kind),
        }
    }

    /// The log under test.
    pub(crate) fn log(&self) -> &Log {
        &self.log
    }

    pub(crate) fn is_embedded(&self) -> bool {
        self.kind == Kind::Embedded
    }

    /// A name no other test of this run (nor an earlier run on the same
    /// broker) uses: real Kafka is shared by every test of a run.
    pub(crate) fn unique(&self, base: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("{base}-{}-{nanos:x}-{n}", self.kind.name())
    }

    /// Creates a topic with a unique name and waits until the log lists
    /// it with all its partitions.
    pub(crate) fn create_topic(&self, base: &str, partitions: u32) -> Result<String> {
        let name = self.unique(base);
        self.create_named_topic(&name, TopicConfig::new().partitions(partitions))?;
        self.eventually("the new topic to be visible", || {
            Ok(self
                .log
                .topic(&name)
                .is_ok_and(|t| t.partition_count() == partitions))
        })?;
        Ok(name)
    }

    /// Creates topic `name` and waits until the log knows it.
    pub(crate) fn create_named_topic(&self, name: &str, config: TopicConfig) -> Result<()> {
        self.log.create_topic(name, config)?;
        self.eventually("the new topic to be visible", || {
            Ok(self.log.topic(name).is_ok())
        })
    }

    /// Waits for `condition`. Metadata of a remote cluster spreads
    /// asynchronously (Kafka documents topic creation and deletion as
    /// eventually visible), so remote targets poll until `PATIENCE` runs out;
    /// the embedded log is synchronous, so there it must hold at once.
    pub(crate) fn eventually(
        &self,
        what: &str,
        mut condition: impl FnMut() -> Result<bool>,
    ) -> Result<()> {
        if self.is_embedded() {
            assert!(condition()?, "[embedded target] expected at once: {what}");
            return Ok(());
        }
        let deadline = Instant::now() + PATIENCE;
        while !condition()? {
            assert!(
                Instant::now() < deadline,
                "[{} target] still waiting for {what} after {PATIENCE:?}",
                self.kind.name()
            );
            std::thread::yield_now();
        }
        Ok(())
    }

    /// A consumer with `config` and a group-less, manual-commit default.
    pub(crate) fn consumer(&self, config: ConsumerConfig) -> Result<Consumer> {
        self.log.consumer(config.enable_auto_commit(false))
    }
}

/// Polls until at least `count` records arrived; fails after `PATIENCE`.
pub(crate) fn poll_records(consumer: &mut Consumer, count: usize) -> Result<Vec<ConsumerRecord>> {
    let deadline = Instant::now() + PATIENCE;
    let mut records = Vec::with_capacity(count);
    while records.len() < count {
        assert!(
            Instant::now() < deadline,
            "{} of {count} records after {PATIENCE:?}",
            records.len()
        );
        records.extend(retrying(consumer.poll(Duration::from_millis(200)))?);
    }
    Ok(records)
}

/// A poll's result, with a retriable error (`Error::is_retriable`: the same
/// call may succeed later) turned into "nothing yet", as a polling loop
/// should treat it. Known gap of the Kafka backend: its poll can report
/// `NOT_COORDINATOR` while a fresh cluster creates `__consumer_offsets`,
/// which Kafka's Java consumer retries inside poll.
pub(crate) fn retrying(polled: Result<Vec<ConsumerRecord>>) -> Result<Vec<ConsumerRecord>> {
    match polled {
        Err(e) if e.is_retriable() => Ok(Vec::new()),
        other => other,
    }
}

/// The value of a record as text.
pub(crate) fn text(record: &ConsumerRecord) -> String {
    String::from_utf8_lossy(record.value().unwrap_or_default()).into_owned()
}

/// Remote targets: `Log::connect` exists with the `kafka-client` feature.
#[cfg(feature = "kafka-client")]
mod remote {
    use tidelog::{KafkaConfig, Log};

    use super::{Kind, Target, Unavailable};

    pub(super) fn open(kind: Kind) -> std::result::Result<Target, Unavailable> {
        match kind {
            Kind::Kafka => {
                let bootstrap = std::env::var("TIDELOG_KAFKA_BOOTSTRAP").map_err(|_| {
                    Unavailable(
                        "TIDELOG_KAFKA_BOOTSTRAP is not set (kafka-harness/with-kafka.sh sets it)"
                            .to_string(),
                    )
                })?;
                let log = connect(&bootstrap);
                await_group_coordinator(&log);
                Ok(Target {
                    kind,
                    log,
                    _keep: Vec::new(),
                })
            }
            _ => listener(kind),
        }
    }

    /// A fresh broker creates `__consumer_offsets` on the first group
    /// request and answers `NOT_COORDINATOR` or `COORDINATOR_LOAD_IN_PROGRESS`
    /// until it is ready; the kafka target waits, through the API, until a
    /// coordinator answers, so no test depends on that start-up.
    fn await_group_coordinator(log: &Log) {
        let deadline = std::time::Instant::now() + super::PATIENCE;
        let probe = log.consumer_group("conformance-coordinator-probe");
        loop {
            match probe.describe() {
                Ok(_) | Err(tidelog::Error::UnknownGroup(_)) => return,
                Err(e) if e.is_retriable() && std::time::Instant::now() < deadline => {}
                Err(e) => panic!("[kafka target] no group coordinator: {e:?}"),
            }
        }
    }

    fn connect(bootstrap: &str) -> Log {
        let config = KafkaConfig::new()
            .set("bootstrap.servers", bootstrap)
            .expect("a valid bootstrap.servers");
        Log::connect(config).expect("connect to the cluster")
    }

    /// tidelog's own listener over a fresh embedded log, on loopback.
    #[cfg(feature = "kafka")]
    fn listener(kind: Kind) -> std::result::Result<Target, Unavailable> {
        use std::sync::Arc;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let served = Arc::new(Log::open(dir.path()).expect("open the embedded log"));
        let server = tidelog::kafka::KafkaServer::start(Arc::clone(&served), "127.0.0.1")
            .expect("start the listener");
        let bootstrap: Vec<_> = server.addresses().iter().map(|a| a.to_string()).collect();
        Ok(Target {
            kind,
            log: connect(&bootstrap.join(",")),
            // Dropped in this order: the listener stops, then the log closes.
            _keep: vec![Box::new(server), Box::new(served), Box::new(dir)],
        })
    }

    #[cfg(not(feature = "kafka"))]
    fn listener(kind: Kind) -> std::result::Result<Target, Unavailable> {
        Err(Unavailable(format!(
            "the {} target needs the cargo feature kafka too",
            kind.name()
        )))
    }
}

/// Without `Log::connect` there is no remote target to run.
#[cfg(not(feature = "kafka-client"))]
mod remote {
    use super::{Kind, Target, Unavailable};

    pub(super) fn open(kind: Kind) -> std::result::Result<Target, Unavailable> {
        Err(Unavailable(format!(
            "the {} target needs the cargo feature kafka-client",
            kind.name()
        )))
    }
}
