//! The delivery callbacks of one batch, stored without a box per record.
//!
//! Most batches get all their callbacks from one call site, so from one
//! closure type: those are kept unboxed, by value, in a list typed for
//! that closure (one allocation per batch rather than one per record).
//! A callback of any other type is boxed, as before, in a second list.
//! Both lists are in offset order, and completing a batch runs the two
//! merged, so one partition's callbacks still run in offset order.
//!
//! `send_sync` callers wait on a `SyncSlot` instead, kept in a third list
//! and filled as soon as the batch is acknowledged, by whichever thread
//! learns it (with `acks=all`, the follower whose report moved the high
//! watermark), before the sender thread runs the batch's callbacks: as in
//! Kafka's producer, a record's future completes before the callbacks of
//! its batch run.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::SyncSlot;

use crate::error::Result;
use crate::record::RecordMetadata;

/// A user's delivery callback, boxed.
pub(crate) type BoxedCallback = Box<dyn FnOnce(Result<RecordMetadata>) + Send>;

/// One record's callback, with what its metadata needs.
struct Pending<F> {
    offset_delta: u32,
    timestamp: i64,
    callback: F,
}

/// Callbacks of one closure type, in offset order.
trait TypedList: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    /// Runs, in order, every callback of a record below offset delta
    /// `limit` (all of them for `None`), each with the result `outcome`
    /// makes for its offset delta and timestamp.
    fn run_below(
        &mut self,
        limit: Option<u32>,
        outcome: &dyn Fn(u32, i64) -> Result<RecordMetadata>,
    );
}

/// The first callback is kept inline, so a batch of one record (as
/// `send_sync` makes) allocates no list.
struct Typed<F> {
    first: Option<Pending<F>>,
    rest: VecDeque<Pending<F>>,
}

impl<F> Typed<F> {
    fn front(&self) -> Option<&Pending<F>> {
        self.first.as_ref().or_else(|| self.rest.front())
    }
}

impl<F> TypedList for Typed<F>
where
    F: FnOnce(Result<RecordMetadata>) + Send + 'static,
{
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn run_below(
        &mut self,
        limit: Option<u32>,
        outcome: &dyn Fn(u32, i64) -> Result<RecordMetadata>,
    ) {
        while self
            .front()
            .is_some_and(|p| limit.is_none_or(|limit| p.offset_delta < limit))
        {
            if let Some(pending) = self.first.take().or_else(|| self.rest.pop_front()) {
                let result = outcome(pending.offset_delta, pending.timestamp);
                run_callback(pending.callback, result);
            }
        }
    }
}

/// The callbacks of the records of one batch that have one.
#[derive(Default)]
pub(crate) struct BatchCallbacks {
    typed: Option<Box<dyn TypedList>>,
    boxed: VecDeque<Pending<BoxedCallback>>,
    /// `send_sync` callers of this batch, filled before the callbacks run.
    sync: Vec<Pending<Arc<SyncSlot>>>,
    len: usize,
}

impl BatchCallbacks {
    /// Adds the callback of the record at `offset_delta`; `expected` tells
    /// how many records the batch may take, to size the list once.
    pub(crate) fn push<F>(
        &mut self,
        offset_delta: u32,
        timestamp: i64,
        callback: F,
        expected: impl FnOnce() -> usize,
    ) where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        self.len += 1;
        let pending = Pending {
            offset_delta,
            timestamp,
            callback,
        };
        let Some(typed) = self.typed.as_mut() else {
            self.typed = Some(Box::new(Typed {
                first: Some(pending),
                rest: VecDeque::new(),
            }));
            return;
        };
        match typed.as_any().downcast_mut::<Typed<F>>() {
            Some(list) => {
                if list.rest.capacity() == 0 {
                    list.rest.reserve(expected().clamp(1, 1024));
                }
                list.rest.push_back(pending);
            }
            None => self.boxed.push_back(Pending {
                offset_delta,
                timestamp,
                callback: Box::new(pending.callback),
            }),
        }
    }

    /// Adds the `send_sync` caller of the record at `offset_delta`.
    pub(crate) fn push_sync(&mut self, offset_delta: u32, timestamp: i64, slot: Arc<SyncSlot>) {
        self.len += 1;
        self.sync.push(Pending {
            offset_delta,
            timestamp,
            callback: slot,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills every `send_sync` caller's slot with the result `outcome`
    /// gives for its record; the other callbacks stay.
    pub(crate) fn fill_sync(&mut self, outcome: &dyn Fn(u32, i64) -> Result<RecordMetadata>) {
        self.len -= self.sync.len();
        for pending in self.sync.drain(..) {
            pending
                .callback
                .fill(outcome(pending.offset_delta, pending.timestamp));
        }
    }

    /// Runs every callback, in offset order, with the result `outcome`
    /// gives for its record's offset delta and timestamp.
    pub(crate) fn run_all(&mut self, outcome: &dyn Fn(u32, i64) -> Result<RecordMetadata>) {
        self.fill_sync(outcome);
        // Typed callbacks run in stretches up to the next boxed one, so a
        // batch without boxed callbacks makes one call for all of them.
        while let Some(pending) = self.boxed.pop_front() {
            if let Some(typed) = self.typed.as_mut() {
                typed.run_below(Some(pending.offset_delta), outcome);
            }
            let result = outcome(pending.offset_delta, pending.timestamp);
            run_callback(pending.callback, result);
        }
        if let Some(typed) = self.typed.as_mut() {
            typed.run_below(None, outcome);
        }
        self.len = 0;
    }
}

/// A panicking callback must not take the sender thread (and with it every
/// other record's delivery) down.
pub(crate) fn run_callback<F>(callback: F, result: Result<RecordMetadata>)
where
    F: FnOnce(Result<RecordMetadata>),
{
    let _ = catch_unwind(AssertUnwindSafe(move || callback(result)));
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::error::Error;

    fn metadata(offset_delta: u32, timestamp: i64) -> Result<RecordMetadata> {
        Ok(RecordMetadata {
            topic: Arc::from("t"),
            partition: 0,
            offset: u64::from(offset_delta),
            timestamp,
        })
    }

    #[test]
    fn callbacks_of_mixed_types_run_once_each_in_offset_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut callbacks = BatchCallbacks::default();
        for delta in 0..6u32 {
            let seen = Arc::clone(&seen);
            let record = move |r: Result<RecordMetadata>| {
                seen.lock()
                    .unwrap()
                    .push(r.map(|m| m.offset()).unwrap_or(u64::MAX));
            };
            if delta % 3 == 1 {
                // Another closure type: boxed, and still run in its place.
                let boxed: BoxedCallback = Box::new(record);
                callbacks.push(delta, 0, boxed, || 6);
            } else {
                callbacks.push(delta, 0, record, || 6);
            }
        }
        assert!(!callbacks.is_empty());
        callbacks.run_all(&metadata);
        assert!(callbacks.is_empty());
        assert_eq!(*seen.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
        callbacks.run_all(&metadata);
        assert_eq!(seen.lock().unwrap().len(), 6);
    }

    #[test]
    fn a_panicking_callback_does_not_stop_the_others() {
        let ran = Arc::new(Mutex::new(0));
        let mut callbacks = BatchCallbacks::default();
        callbacks.push(0, 0, |_: Result<RecordMetadata>| panic!("user bug"), || 2);
        let counter = Arc::clone(&ran);
        callbacks.push(
            1,
            0,
            move |_: Result<RecordMetadata>| *counter.lock().unwrap() += 1,
            || 2,
        );
        callbacks.run_all(&|_, _| Err(Error::Closed("producer")));
        assert_eq!(*ran.lock().unwrap(), 1);
    }

    #[test]
    fn sync_slots_are_filled_first_and_once() {
        let ran = Arc::new(Mutex::new(0));
        let mut callbacks = BatchCallbacks::default();
        let counter = Arc::clone(&ran);
        callbacks.push(
            0,
            0,
            move |_: Result<RecordMetadata>| *counter.lock().unwrap() += 1,
            || 2,
        );
        let slot = Arc::new(SyncSlot::default());
        callbacks.push_sync(1, 7, Arc::clone(&slot));
        callbacks.fill_sync(&metadata);
        let filled = slot.wait(std::time::Duration::ZERO, false).expect("filled");
        assert_eq!((filled.offset(), filled.timestamp()), (1, 7));
        assert_eq!(*ran.lock().unwrap(), 0, "the callback waits for run_all");
        assert!(!callbacks.is_empty());
        callbacks.run_all(&|_, _| Err(Error::Closed("producer")));
        assert_eq!(*ran.lock().unwrap(), 1);
        assert!(callbacks.is_empty());
        assert!(
            slot.wait(std::time::Duration::ZERO, false).is_err(),
            "not filled a second time"
        );
    }
}
