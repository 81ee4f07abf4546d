//! What the Kafka listener asks of the cluster beyond the client seam: which
//! brokers exist and which of them answer, as Kafka's metadata reports them.

use std::sync::Arc;

use super::core::ClusterCore;
use super::protocol::metadata::ClusterMetadata;
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

impl ClusterCore {
    /// Ids of every broker of this `Log`, running or not.
    #[cfg_attr(
        not(feature = "kafka"),
        expect(dead_code, reason = "used by the kafka listener")
    )]
    pub(crate) fn broker_ids(&self) -> Vec<u32> {
        (0..self.brokers().broker_count()).collect()
    }

    /// Whether broker `id` runs and is reachable by clients: what a Kafka
    /// client sees as a live broker process.
    #[cfg_attr(
        not(feature = "kafka"),
        expect(dead_code, reason = "used by the kafka listener")
    )]
    pub(crate) fn broker_serving(&self, id: u32) -> bool {
        let brokers = self.brokers();
        brokers.is_broker_running(id) && !brokers.is_broker_isolated(id)
    }

    /// Every topic's partitions, leaders, replicas and ISRs, as recorded.
    #[cfg_attr(
        not(feature = "kafka"),
        expect(dead_code, reason = "used by the kafka listener")
    )]
    pub(crate) fn routes(&self) -> Arc<ClusterMetadata> {
        self.brokers().routes()
    }

    /// OffsetsForLeaderEpoch as the partition's leader answers it: the
    /// largest epoch at or below `epoch` it knows, and where that epoch's
    /// records end. `Ok(None)` when the leader knows no such epoch.
    #[cfg_attr(
        not(feature = "kafka"),
        expect(dead_code, reason = "used by the kafka listener")
    )]
    pub(crate) fn epoch_end_offset(
        &self,
        tp: &TopicPartition,
        epoch: i32,
    ) -> Result<Option<(i32, u64)>> {
        let state = self.partition_state(tp)?;
        let not_leader = || Error::NotLeader {
            topic: tp.topic().to_string(),
            partition: tp.partition(),
        };
        let leader = state.leader.ok_or_else(not_leader)?;
        let partition = self
            .brokers()
            .node(leader)
            .and_then(|n| n.partition(tp))
            .filter(|p| p.leads(state.leader_epoch))
            .ok_or_else(not_leader)?;
        Ok(partition
            .end_offset_for(epoch)
            .map(|end| (end.epoch, end.end_offset)))
    }
}
