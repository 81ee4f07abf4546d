//! One assigned partition as the consumer sees it: position and buffer.

use std::sync::Arc;

use super::config::OffsetReset;
use super::fetch_buffer::{Cursor, FetchBuffer};
use super::lent::Lent;
use crate::cluster::{ClusterCore, ReadPool};
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

pub(crate) struct AssignedPartition {
    pub(crate) tp: TopicPartition,
    pub(crate) topic: Arc<str>,
    /// The next offset to return; `None` until reset or sought.
    pub(crate) position: Option<u64>,
    pub(crate) buffer: FetchBuffer,
    /// Paused by the user: polls skip it, its position stays.
    pub(crate) paused: bool,
    /// The high watermark the last fetch saw, for `Consumer::lag`.
    pub(crate) high_watermark: Option<u64>,
}

/// What one fetch attempt produced.
pub(crate) enum Fetched {
    /// Bytes fetched (possibly none: nothing new below the high watermark).
    Bytes(usize),
    /// The partition cannot be read right now (leader moving); try later.
    Unavailable,
}

impl AssignedPartition {
    pub(crate) fn new(tp: TopicPartition, topic: Arc<str>) -> Self {
        AssignedPartition {
            tp,
            topic,
            position: None,
            buffer: FetchBuffer::default(),
            paused: false,
            high_watermark: None,
        }
    }

    /// Moves the position; buffered records no longer apply.
    pub(crate) fn seek(&mut self, offset: u64) {
        self.position = Some(offset);
        self.buffer.clear();
    }

    /// The position, resolving an unset one by `auto.offset.reset`.
    pub(crate) fn position(&mut self, core: &ClusterCore, reset: OffsetReset) -> Result<u64> {
        if let Some(position) = self.position {
            return Ok(position);
        }
        let position = self.reset_offset(core, reset)?;
        self.seek(position);
        Ok(position)
    }

    fn reset_offset(&self, core: &ClusterCore, reset: OffsetReset) -> Result<u64> {
        match reset {
            OffsetReset::Earliest => Ok(core.offsets(&self.tp)?.log_start_offset),
            OffsetReset::Latest => Ok(core.offsets(&self.tp)?.high_watermark),
            _ => Err(self.no_offset()),
        }
    }

    fn no_offset(&self) -> Error {
        Error::NoOffsetForPartition {
            topic: self.tp.topic().to_string(),
            partition: self.tp.partition(),
        }
    }

    /// Lends buffered records to `out`, as one run of this partition.
    pub(crate) fn drain_into(&mut self, out: &mut Lent, max: usize) -> Result<()> {
        let Some(position) = self.position.as_mut() else {
            return Ok(());
        };
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut cursor = Cursor {
            topic: &self.topic,
            partition: self.tp.partition(),
            position,
        };
        out.begin_run(&self.topic, self.tp.partition());
        let drained = self.buffer.drain_into(out, max, &mut cursor);
        out.end_run();
        drained
    }

    /// Fetches from the position into the buffer, reading into `pool`'s
    /// spent buffers. A position outside the log follows
    /// `auto.offset.reset`; with `none` the range error stands.
    pub(crate) fn fetch(
        &mut self,
        core: &ClusterCore,
        reset: OffsetReset,
        max_bytes: usize,
        pool: &mut ReadPool,
    ) -> Result<Fetched> {
        let position = self.position(core, reset)?;
        let result = match core.fetch_pooled(&self.tp, position, max_bytes, pool) {
            Err(Error::OffsetOutOfRange { .. }) if reset != OffsetReset::None => {
                let reset_to = self.reset_offset(core, reset)?;
                self.seek(reset_to);
                core.fetch_pooled(&self.tp, reset_to, max_bytes, pool)
            }
            other => other,
        };
        match result {
            Ok(fetched) => {
                self.high_watermark = Some(fetched.offsets.high_watermark);
                let bytes = fetched.data.len();
                if bytes > 0 {
                    self.buffer.fill(fetched.data);
                }
                Ok(Fetched::Bytes(bytes))
            }
            Err(e) if e.is_retriable() => Ok(Fetched::Unavailable),
            Err(e) => Err(e),
        }
    }
}
