//! What the Kafka listener asks of the cluster beyond the client seam: which
//! brokers exist and which of them answer, as Kafka's metadata reports them.

use super::core::ClusterCore;

impl ClusterCore {
    /// Ids of every broker of this `Log`, running or not.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) fn broker_ids(&self) -> Vec<u32> {
        self.brokers.iter().map(|b| b.id()).collect()
    }

    /// Whether broker `id` runs and is reachable by clients: what a Kafka
    /// client sees as a live broker process.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) fn broker_serving(&self, id: u32) -> bool {
        self.node(id).is_some_and(|n| n.is_running()) && !self.faults().is_isolated(id)
    }
}

impl ClusterCore {
    /// OffsetsForLeaderEpoch as the partition's leader answers it: the
    /// largest epoch at or below `epoch` it knows, and where that epoch's
    /// records end. `Ok(None)` when the leader knows no such epoch.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) fn epoch_end_offset(
        &self,
        tp: &crate::topic::TopicPartition,
        epoch: i32,
    ) -> crate::error::Result<Option<(i32, u64)>> {
        let state = self.partition_state(tp)?;
        let not_leader = || crate::error::Error::NotLeader {
            topic: tp.topic().to_string(),
            partition: tp.partition(),
        };
        let leader = state.leader.ok_or_else(not_leader)?;
        let partition = self
            .node(leader)
            .and_then(|n| n.partition(tp))
            .filter(|p| p.leads(state.leader_epoch))
            .ok_or_else(not_leader)?;
        Ok(partition
            .end_offset_for(epoch)
            .map(|end| (end.epoch, end.end_offset)))
    }
}
