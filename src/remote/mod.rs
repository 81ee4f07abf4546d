//! The Kafka backend: the same handles over a real Apache Kafka cluster,
//! through librdkafka (the `rdkafka` crate) used synchronously.
//!
//! No async runtime: admin requests are futures whose results librdkafka
//! delivers from its own thread, so [`wait`] parks the caller until the
//! future is ready; producers run delivery callbacks on one poll thread;
//! consumers are polled in the caller's thread, where rebalances run too.

mod config;
mod consumer;
mod errors;
mod group;
mod log;
mod lookup;
mod producer;
mod translate;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

pub use self::config::KafkaConfig;
pub(crate) use self::consumer::{close, poll, KafkaConsumer};
pub(crate) use self::group::KafkaGroup;
pub(crate) use self::log::KafkaLog;
pub(crate) use self::lookup::{offsets_for_times, watermark_offsets};
pub(crate) use self::producer::KafkaProducer;

/// Wakes the thread that waits in [`wait`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the calling thread. Every future waited
/// on here completes from librdkafka's background thread (or fails at
/// once), so parking until woken never spins.
pub(crate) fn wait<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        // A wake between the poll and the park leaves the token set, so
        // the park returns at once.
        thread::park();
    }
}
