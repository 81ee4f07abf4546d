//! Altering a topic's settings while its replicas run: persisted with the
//! rest of the cluster metadata first, then handed to every hosted replica.

use std::sync::Arc;

use super::{log_config, metadata_file, Brokers};
use crate::cluster::runtime::effects::Effects;
use crate::config::TopicConfig;
use crate::error::{Error, Result};

impl Brokers {
    /// Replaces topic `name`'s settings with what `alter` makes of the
    /// current ones (given with the topic's replication factor), all or
    /// nothing: when `alter` fails or the metadata cannot be persisted,
    /// the old settings stay in force everywhere.
    ///
    /// The controller lock is held throughout, so a replica opened
    /// meanwhile (a broker restarting, a new partition) reads either the
    /// old settings and is then reconfigured, or the new ones.
    pub(crate) fn alter_topic_config(
        &self,
        name: &str,
        alter: impl FnOnce(&TopicConfig, u32) -> Result<TopicConfig>,
    ) -> Result<()> {
        let mut controller = self.controller.lock();
        let topic = controller
            .metadata()
            .topics
            .get(name)
            .ok_or_else(|| Error::UnknownTopic(name.to_string()))?;
        let replicas = topic.partitions.first().map_or(0, |p| p.replicas.len());
        let config = alter(&topic.config, u32::try_from(replicas).unwrap_or(u32::MAX))?;
        let old = controller.set_topic_config(name, config.clone())?;
        if let Err(e) = metadata_file::save(controller.metadata(), &self.root) {
            // Nothing was applied yet; the next save writes the old settings.
            controller.set_topic_config(name, old)?;
            return Err(e);
        }
        *self.routes.write() = Arc::new(controller.metadata().clone());
        let settings = log_config(&self.config, &config);
        let min_insync = config
            .min_insync_replicas
            .unwrap_or(self.config.min_insync_replicas) as usize;
        let mut effects = Effects::default();
        for node in &self.nodes {
            let hosted = node.partitions().into_iter();
            for partition in hosted.filter(|p| p.tp().topic() == name) {
                effects.merge(partition.reconfigure(settings.clone(), min_insync));
            }
        }
        drop(controller);
        self.signal.notify();
        self.finish(effects);
        Ok(())
    }
}
