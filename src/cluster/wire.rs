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
