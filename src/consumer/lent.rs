//! What one poll hands out: the bytes of the batches its records came from,
//! and where each record lies in them.
//!
//! The consumer keeps one `Lent` and refills it on every poll, so its
//! vectors keep their capacity: a poll allocates nothing per record and
//! takes one reference on the fetched bytes per batch, not three per record.

use std::sync::Arc;

use bytes::Bytes;

use crate::record::{ConsumerRecord, Header, HeaderSpans, Span, TimestampType};

/// One batch that records were taken from in this poll.
pub(crate) struct LentBatch {
    /// The batch's record bytes (decompressed once, if it was compressed).
    pub(crate) body: Bytes,
    pub(crate) timestamp_type: TimestampType,
    pub(crate) leader_epoch: i32,
}

/// One returned record: its place in its batch's bytes.
#[derive(Clone, Copy)]
pub(crate) struct LentRecord {
    /// Index into `Lent::batches`.
    pub(crate) batch: u32,
    pub(crate) offset: u64,
    pub(crate) timestamp: i64,
    pub(crate) key: Span,
    pub(crate) value: Span,
    pub(crate) headers: HeaderSpans,
}

/// Consecutive records of one partition.
pub(crate) struct Run {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Default)]
pub(crate) struct Lent {
    pub(crate) batches: Vec<LentBatch>,
    pub(crate) records: Vec<LentRecord>,
    pub(crate) runs: Vec<Run>,
}

impl Lent {
    /// Empties it for the next poll (dropping its holds on fetched bytes).
    pub(crate) fn clear(&mut self) {
        self.batches.clear();
        self.records.clear();
        self.runs.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records pushed from now on belong to this partition.
    pub(crate) fn begin_run(&mut self, topic: &Arc<str>, partition: u32) {
        let at = self.records.len();
        self.runs.push(Run {
            topic: Arc::clone(topic),
            partition,
            start: at,
            end: at,
        });
    }

    /// Closes the run `begin_run` opened; a run without records goes.
    pub(crate) fn end_run(&mut self) {
        let at = self.records.len();
        if let Some(run) = self.runs.last_mut() {
            run.end = at;
            if run.start == at {
                self.runs.pop();
            }
        }
    }

    /// Adds a batch records are about to be taken from; returns its index.
    pub(crate) fn push_batch(&mut self, batch: LentBatch) -> u32 {
        self.batches.push(batch);
        // A poll holds at most `max.poll.records` (a u32) records, so at
        // most that many batches.
        u32::try_from(self.batches.len() - 1).unwrap_or(u32::MAX)
    }

    #[inline]
    pub(crate) fn push(&mut self, record: LentRecord) {
        self.records.push(record);
    }

    /// Every record as an owned `ConsumerRecord`, in order.
    pub(crate) fn to_records(&self) -> Vec<ConsumerRecord> {
        let mut out = Vec::with_capacity(self.records.len());
        for run in &self.runs {
            for record in self.records.get(run.start..run.end).unwrap_or_default() {
                if let Some(batch) = self.batches.get(record.batch as usize) {
                    out.push(batch.to_record(run, record));
                }
            }
        }
        out
    }
}

impl LentBatch {
    /// `record` of this batch as an owned record: its bytes are shared
    /// slices of the batch's (a reference count each, no copy).
    #[inline]
    pub(crate) fn to_record(&self, run: &Run, record: &LentRecord) -> ConsumerRecord {
        let body = &self.body;
        let slice = |span: Span| span.get(body).map(|bytes| body.slice_ref(bytes));
        ConsumerRecord {
            topic: Arc::clone(&run.topic),
            partition: run.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: slice(record.key),
            value: slice(record.value),
            headers: owned_headers(body, record.headers),
            timestamp_type: self.timestamp_type,
            leader_epoch: self.leader_epoch,
        }
    }
}

/// The headers in `spans` of `body` as owned headers sharing its bytes.
pub(crate) fn owned_headers(body: &Bytes, spans: HeaderSpans) -> Vec<Header> {
    if spans.count == 0 {
        return Vec::new();
    }
    // The poll checked them: nothing is skipped.
    spans
        .iter(body)
        .filter_map(Result::ok)
        .map(|(name, value)| {
            let value = value.map(|v| body.slice_ref(v)).unwrap_or_default();
            Header::new(name, value)
        })
        .collect()
}
