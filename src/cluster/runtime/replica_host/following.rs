//! The follower's side of a hosted replica: what it fetches, how it
//! reconciles its log with the leader's after a leader change, and
//! appending what it fetched.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{batch_headers, scan_producers, Partition};
use crate::cluster::protocol::epoch_history::EpochEnd;
use crate::cluster::protocol::follower::{self, FollowTarget, Reconcile};
use crate::cluster::protocol::producer_state::ProducerStateTable;
use crate::cluster::protocol::role::Role;
use crate::error::Result;

impl Partition {
    /// Whether a fetch from `leader` at offset `at` would change nothing
    /// ([`follower::may_skip_fetch`]): skipping those keeps idle partitions
    /// (e.g. most of `__consumer_offsets`) off the hot path.
    pub(crate) fn idle_against(&self, leader: &Partition, target: FollowTarget, at: u64) -> bool {
        let reported = self.last_reported.load(Ordering::Acquire) == at;
        let leader_moved = leader.log.log_end_offset() != at
            || leader.high_watermark() != self.high_watermark()
            || leader.log.log_start_offset() > self.log.log_start_offset();
        follower::may_skip_fetch(target, reported, leader_moved)
    }

    /// A fetch at `fetch_offset` reached the leader.
    pub(crate) fn reported(&self, fetch_offset: u64) {
        self.last_reported.store(fetch_offset, Ordering::Release);
    }

    /// The leader's answer to OffsetsForLeaderEpoch.
    pub(crate) fn end_offset_for(&self, epoch: i32) -> Option<EpochEnd> {
        let inner = self.inner.lock();
        if !matches!(inner.role, Role::Leader(_)) {
            return None;
        }
        inner
            .epochs
            .end_offset_for(epoch, self.log.log_end_offset())
    }

    /// Whom to fetch from, when following.
    pub(crate) fn follow_target(&self) -> Option<FollowTarget> {
        match &self.inner.lock().role {
            Role::Follower(f) => Some(f.target()),
            _ => None,
        }
    }

    /// Cuts the suffix this replica wrote (or took) that the leader does not
    /// have, using the leader's epoch history (KIP-101/279). Returns whether
    /// it is done; `false` means ask again later (the leader cannot answer yet).
    pub(crate) fn reconcile(&self, target: FollowTarget, leader: &Partition) -> Result<bool> {
        let leo = self.log.log_end_offset();
        let decision = {
            let inner = self.inner.lock();
            follower::reconcile(&inner.epochs, leo, self.high_watermark(), |e| {
                leader.end_offset_for(e)
            })
        };
        let Reconcile::TruncateTo(cut) = decision else {
            return Ok(false);
        };
        let mut inner = self.inner.lock();
        let Role::Follower(state) = &inner.role else {
            return Ok(false);
        };
        // The leader was asked without our lock: the answer may be stale.
        if !state.is_current(target) {
            return Ok(false);
        }
        if cut < leo {
            self.log.truncate_to(cut)?;
            if inner.epochs.truncate_from_end(cut) {
                self.epoch_file.write(inner.epochs.entries())?;
            }
            inner.producers = scan_producers(&self.log)?;
            self.high_watermark.fetch_min(cut, Ordering::AcqRel);
        }
        if let Role::Follower(state) = &mut inner.role {
            state.mark_reconciled();
        }
        Ok(true)
    }

    /// The leader's log no longer matches where we are: reconcile again.
    pub(crate) fn unreconcile(&self) {
        if let Role::Follower(state) = &mut self.inner.lock().role {
            state.unreconcile();
        }
    }

    /// The leader's log starts after our end (retention): start over there.
    pub(crate) fn restart_at(&self, offset: u64) -> Result<()> {
        let mut inner = self.inner.lock();
        self.log.truncate_fully_and_start_at(offset)?;
        if inner.epochs.clear() {
            self.epoch_file.write(inner.epochs.entries())?;
        }
        inner.producers = ProducerStateTable::default();
        self.high_watermark.store(offset, Ordering::Release);
        Ok(())
    }

    /// Appends batches fetched from the leader, and follows its high
    /// watermark and log start offset.
    pub(crate) fn append_fetched(
        &self,
        target: FollowTarget,
        data: &Bytes,
        (leader_hw, leader_log_start): (u64, u64),
    ) -> Result<()> {
        let mut inner = self.inner.lock();
        let current = matches!(&inner.role, Role::Follower(f) if f.may_append(target));
        if !current || self.stopped.load(Ordering::Acquire) {
            return Ok(());
        }
        if !data.is_empty() {
            let start = self.log.log_end_offset();
            self.log.append_as_follower(data)?;
            let headers = batch_headers(data);
            let batches = headers.iter().map(|h| (h.base_offset, h.leader_epoch));
            let batches =
                batches.filter_map(|(base, epoch)| Some((u64::try_from(base).ok()?, epoch)));
            if follower::record_epochs(&mut inner.epochs, start, batches) {
                self.epoch_file.write(inner.epochs.entries())?;
            }
            for header in &headers {
                if u64::try_from(header.base_offset).is_ok_and(|base| base >= start) {
                    inner.producers.observe(header);
                }
            }
        }
        let hw = follower::high_watermark(leader_hw, self.log.log_end_offset());
        self.high_watermark.fetch_max(hw, Ordering::AcqRel);
        // Records the leader deleted (DeleteRecords) go here too, but never
        // past what this replica knows to be committed.
        let start = follower::log_start_offset(leader_log_start, self.high_watermark());
        if start > self.log.log_start_offset() {
            self.log.delete_records_before(start)?;
        }
        Ok(())
    }
}
