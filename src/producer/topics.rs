//! The producer's metadata cache: partition counts per topic and the
//! accumulators of their partitions.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use super::accumulator::PartitionAccumulator;
use super::partitioner::StickyPartition;
use crate::cluster::ClusterCore;
use crate::error::Result;
use crate::topic::TopicPartition;

/// What all partitions of one topic share.
pub(crate) struct TopicShared {
    pub(crate) name: Arc<str>,
    pub(crate) sticky: StickyPartition,
    /// The topic's `max.message.bytes` (or the broker's `message.max.bytes`):
    /// a record that cannot fit fails at once instead of at the leader.
    max_message_bytes: AtomicU32,
    /// The cluster's config alteration count when the limit was read.
    limit_read_at: AtomicU64,
    partitions: AtomicU32,
}

impl TopicShared {
    /// The topic's size limit, read again from the cluster after any topic
    /// config alteration (one atomic load per send otherwise).
    pub(crate) fn max_message_bytes(&self, core: &ClusterCore) -> u32 {
        let changes = core.config_changes();
        if self.limit_read_at.load(Ordering::Acquire) != changes {
            let limit = core.max_message_bytes(&self.name);
            self.max_message_bytes.store(limit, Ordering::Relaxed);
            self.limit_read_at.store(changes, Ordering::Release);
        }
        self.max_message_bytes.load(Ordering::Relaxed)
    }

    /// The limit as last read, for sizing batches.
    pub(crate) fn cached_max_message_bytes(&self) -> u32 {
        self.max_message_bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn partition_count(&self) -> u32 {
        self.partitions.load(Ordering::Relaxed)
    }
}

/// One topic as the producer knows it. Replaced (never mutated) when the
/// partition count grows; existing accumulators carry over.
pub(crate) struct TopicState {
    pub(crate) shared: Arc<TopicShared>,
    pub(crate) partitions: Vec<Arc<PartitionAccumulator>>,
}

impl TopicState {
    pub(crate) fn partition_count(&self) -> u32 {
        u32::try_from(self.partitions.len()).unwrap_or(u32::MAX)
    }
}

/// FNV-1a: every send looks its topic up, and topic names are short,
/// trusted-enough keys (the map is private to one producer), so the
/// DoS-resistant default hasher is not worth its cost here.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type TopicMap = HashMap<String, Arc<TopicState>, BuildHasherDefault<Fnv>>;

/// Tells the `Topics` of different producers apart in the thread cache.
static NEXT_TOPICS_ID: AtomicU64 = AtomicU64::new(1);

/// The topic a thread sent to last, per thread: most senders send to one
/// topic, and this spares them the shared map's lock on every record.
struct LastTopic {
    topics_id: u64,
    generation: u64,
    /// The caller's name as it was passed: records built from one
    /// `Arc<str>` share it, so a pointer compare usually spares the
    /// string compare.
    name: Arc<str>,
    state: Arc<TopicState>,
}

thread_local! {
    static LAST_TOPIC: RefCell<Option<LastTopic>> = const { RefCell::new(None) };
}

pub(crate) struct Topics {
    map: RwLock<TopicMap>,
    next_slot: AtomicUsize,
    id: u64,
    /// Bumped on every change to `map`; a thread's cached topic from an
    /// older generation is looked up again.
    generation: AtomicU64,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            map: RwLock::default(),
            next_slot: AtomicUsize::new(0),
            id: NEXT_TOPICS_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
        }
    }
}

impl Topics {
    /// The cached topic, asking the cluster (which may create it) on a miss.
    pub(crate) fn get(&self, name: &Arc<str>, core: &ClusterCore) -> Result<Arc<TopicState>> {
        let generation = self.generation.load(Ordering::Acquire);
        let cached = LAST_TOPIC.with(|last| {
            let last = last.try_borrow().ok()?;
            let last = last.as_ref()?;
            let hit = last.topics_id == self.id
                && last.generation == generation
                && (Arc::ptr_eq(&last.name, name) || *last.name == **name);
            hit.then(|| Arc::clone(&last.state))
        });
        if let Some(state) = cached {
            return Ok(state);
        }
        let state = self.lookup(name, core)?;
        LAST_TOPIC.with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                *last = Some(LastTopic {
                    topics_id: self.id,
                    generation,
                    name: Arc::clone(name),
                    state: Arc::clone(&state),
                });
            }
        });
        Ok(state)
    }

    fn lookup(&self, name: &str, core: &ClusterCore) -> Result<Arc<TopicState>> {
        if let Some(state) = self.map.read().get(name) {
            return Ok(Arc::clone(state));
        }
        let partitions = core.partition_count_or_create(name)?;
        Ok(self.install(name, partitions, core))
    }

    /// Asks the cluster again (after an error or for a partition beyond the
    /// cached count).
    pub(crate) fn refresh(&self, name: &str, core: &ClusterCore) -> Result<Arc<TopicState>> {
        let partitions = core.partition_count(name)?;
        Ok(self.install(name, partitions, core))
    }

    /// Drops a topic the cluster no longer knows; returns what was cached
    /// so its open batches can be sealed (they would otherwise wait out
    /// linger.ms, unseen by flush).
    pub(crate) fn forget(&self, name: &str) -> Option<Arc<TopicState>> {
        let removed = self.map.write().remove(name);
        self.generation.fetch_add(1, Ordering::Release);
        removed
    }

    pub(crate) fn all(&self) -> Vec<Arc<TopicState>> {
        self.map.read().values().cloned().collect()
    }

    fn install(&self, name: &str, partitions: u32, core: &ClusterCore) -> Arc<TopicState> {
        let mut map = self.map.write();
        let existing = map.get(name).cloned();
        if let Some(state) = &existing {
            if state.partition_count() >= partitions {
                return Arc::clone(state);
            }
        }
        let shared = match &existing {
            Some(state) => Arc::clone(&state.shared),
            None => Arc::new(TopicShared {
                name: Arc::from(name),
                sticky: StickyPartition::new(self.next_slot.load(Ordering::Relaxed) as u32),
                limit_read_at: AtomicU64::new(core.config_changes()),
                max_message_bytes: AtomicU32::new(core.max_message_bytes(name)),
                partitions: AtomicU32::new(partitions),
            }),
        };
        let mut accumulators = existing
            .map(|state| state.partitions.clone())
            .unwrap_or_default();
        for partition in accumulators.len() as u32..partitions {
            let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
            accumulators.push(Arc::new(PartitionAccumulator::new(
                TopicPartition::new(name, partition),
                Arc::clone(&shared),
                slot,
            )));
        }
        shared.partitions.store(partitions, Ordering::Relaxed);
        let state = Arc::new(TopicState {
            shared,
            partitions: accumulators,
        });
        map.insert(name.to_string(), Arc::clone(&state));
        self.generation.fetch_add(1, Ordering::Release);
        state
    }
}
