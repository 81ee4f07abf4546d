//! Fault rules of the in-process network between brokers and clients.
//!
//! Brokers call each other directly, but every call first asks these rules
//! whether the link is up, so a test (or a user rehearsing an outage) can cut
//! a broker off from everyone while it keeps running.

use std::collections::BTreeSet;

use parking_lot::RwLock;

use crate::cluster::protocol::leader::BrokerId;

/// Which brokers are cut off.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    isolated: RwLock<BTreeSet<BrokerId>>,
}

impl Faults {
    /// Cuts `id` off from every other broker, the controller and clients.
    pub(crate) fn isolate(&self, id: BrokerId) {
        self.isolated.write().insert(id);
    }

    /// Restores `id`'s links.
    pub(crate) fn heal(&self, id: BrokerId) {
        self.isolated.write().remove(&id);
    }

    pub(crate) fn is_isolated(&self, id: BrokerId) -> bool {
        self.isolated.read().contains(&id)
    }

    /// Whether a message from broker `from` reaches broker `to`.
    pub(crate) fn link_up(&self, from: BrokerId, to: BrokerId) -> bool {
        from == to || {
            let isolated = self.isolated.read();
            !isolated.contains(&from) && !isolated.contains(&to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_isolated_broker_reaches_only_itself() {
        let f = Faults::default();
        f.isolate(1);
        // (from, to, link up)
        for (a, b, up) in [(0, 1, false), (1, 0, false), (1, 1, true), (0, 2, true)] {
            assert_eq!(f.link_up(a, b), up, "{a} -> {b}");
        }
        f.heal(1);
        assert!(f.link_up(0, 1));
    }
}
