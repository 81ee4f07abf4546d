//! One simulated broker: its directory, the replicas it hosts, and its
//! fetcher thread while it runs.
//!
//! Starting, killing and stopping brokers needs the whole cluster (the
//! controller, the other brokers), so those live in `lifecycle.rs`; this file
//! holds what belongs to one broker alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};

use super::partition::Partition;
use super::replica::BrokerId;
use crate::error::{Error, Result};
use crate::storage::write_atomically;
use crate::topic::TopicPartition;

/// Per-broker file of high watermarks, in Kafka's layout.
const HW_CHECKPOINT: &str = "replication-offset-checkpoint";

/// A running broker's fetcher thread and the flag that stops it.
pub(crate) struct Worker {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) handle: JoinHandle<()>,
}

/// One broker of the cluster.
pub(crate) struct BrokerNode {
    id: BrokerId,
    dir: PathBuf,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    running: AtomicBool,
    /// Serialises start, kill and shutdown; holds the fetcher thread.
    pub(crate) lifecycle: Mutex<Option<Worker>>,
    /// What the last high-watermark checkpoint wrote, to skip unchanged ones.
    last_checkpoint: Mutex<String>,
}

impl BrokerNode {
    pub(crate) fn new(id: BrokerId, dir: PathBuf) -> Self {
        BrokerNode {
            id,
            dir,
            partitions: RwLock::new(HashMap::new()),
            running: AtomicBool::new(false),
            lifecycle: Mutex::new(None),
            last_checkpoint: Mutex::new(String::new()),
        }
    }

    pub(crate) fn id(&self) -> BrokerId {
        self.id
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn partition_dir(&self, tp: &TopicPartition) -> PathBuf {
        self.dir.join(format!("{}-{}", tp.topic(), tp.partition()))
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    pub(crate) fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Release);
    }

    /// The hosted replica of `tp`, when the broker runs and hosts it.
    pub(crate) fn partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        if !self.is_running() {
            return None;
        }
        self.partitions.read().get(tp).cloned()
    }

    /// Every hosted replica.
    pub(crate) fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().values().cloned().collect()
    }

    pub(crate) fn insert(&self, partition: Arc<Partition>) {
        self.partitions
            .write()
            .insert(partition.tp().clone(), partition);
    }

    /// Removes and returns every hosted replica (the broker stops).
    pub(crate) fn take_all(&self) -> Vec<Arc<Partition>> {
        self.partitions.write().drain().map(|(_, p)| p).collect()
    }

    /// Removes and returns the replicas of one topic (it is deleted).
    pub(crate) fn take_topic(&self, topic: &str) -> Vec<Arc<Partition>> {
        let mut map = self.partitions.write();
        let doomed: Vec<TopicPartition> = map
            .keys()
            .filter(|tp| tp.topic() == topic)
            .cloned()
            .collect();
        doomed.iter().filter_map(|tp| map.remove(tp)).collect()
    }

    /// High watermarks saved by the last checkpoint.
    pub(crate) fn load_high_watermarks(&self) -> Result<HashMap<TopicPartition, u64>> {
        let path = self.dir.join(HW_CHECKPOINT);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        // A damaged checkpoint only costs visibility (high watermarks restart
        // at 0 and catch up from the leaders), so it is skipped, not fatal.
        let mut out = HashMap::new();
        for line in text.lines().skip(2) {
            let mut words = line.split(' ');
            let (Some(topic), Some(p), Some(hw)) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            if let (Ok(p), Ok(hw)) = (p.parse(), hw.parse()) {
                out.insert(TopicPartition::new(topic, p), hw);
            }
        }
        Ok(out)
    }

    /// Writes every hosted replica's high watermark atomically, unless
    /// nothing changed since the last time.
    pub(crate) fn checkpoint_high_watermarks(&self, partitions: &[Arc<Partition>]) -> Result<()> {
        let mut sorted: Vec<&Arc<Partition>> = partitions.iter().collect();
        sorted.sort_by(|a, b| a.tp().cmp(b.tp()));
        let mut text = format!("0\n{}\n", sorted.len());
        for p in sorted {
            let tp = p.tp();
            text.push_str(&format!(
                "{} {} {}\n",
                tp.topic(),
                tp.partition(),
                p.high_watermark()
            ));
        }
        let mut last = self.last_checkpoint.lock();
        if *last == text {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io("create directory", &self.dir, e))?;
        write_atomically(&self.dir.join(HW_CHECKPOINT), text.as_bytes())?;
        *last = text;
        Ok(())
    }
}
