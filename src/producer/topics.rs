//! The producer's metadata cache: partition counts per topic and the
//! accumulators of their partitions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
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
    pub(crate) max_message_bytes: u32,
    partitions: AtomicU32,
}

impl TopicShared {
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

#[derive(Default)]
pub(crate) struct Topics {
    map: RwLock<HashMap<String, Arc<TopicState>>>,
    next_slot: AtomicUsize,
}

impl Topics {
    /// The cached topic, asking the cluster (which may create it) on a miss.
    pub(crate) fn get(&self, name: &str, core: &ClusterCore) -> Result<Arc<TopicState>> {
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

    /// Drops a topic the cluster no longer knows.
    pub(crate) fn forget(&self, name: &str) {
        self.map.write().remove(name);
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
                max_message_bytes: core
                    .topic_config(name)
                    .ok()
                    .and_then(|config| config.max_message_bytes)
                    .unwrap_or(core.config().message_max_bytes),
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
        state
    }
}
