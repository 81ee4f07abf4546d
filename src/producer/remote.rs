//! `KafkaProducer`: a librdkafka producer with one poll thread that runs
//! delivery callbacks (rdkafka's `ThreadedProducer`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header as KafkaHeader, Message, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer,
};
use rdkafka::util::Timeout;

use rdkafka::config::ClientConfig;

use super::{ProducerConfig, SyncSlot};
use crate::config::Acks;
use crate::error::{Error, Result};
use crate::record::{Compression, ProducerRecord, RecordMetadata};
use crate::remote::{kafka_error, non_negative, partition_i32, KafkaLog, Subject};

type Callback = Box<dyn FnOnce(Result<RecordMetadata>) + Send>;

/// Who hears of one record's outcome.
enum Delivery {
    /// Fire and forget: only the failure count and `flush_timeout` do.
    Forget,
    /// In a mutex only because librdkafka's opaque must be `Sync`.
    Callback(Mutex<Callback>),
    Sync(Arc<SyncSlot>),
}

/// What the poll thread keeps across deliveries.
#[derive(Default)]
struct Outcomes {
    failed: AtomicU64,
    /// The first delivery failure since the previous flush.
    first_failure: Mutex<Option<Error>>,
}

impl Outcomes {
    fn fail(&self, error: &Error) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.first_failure
            .lock()
            .get_or_insert_with(|| error.clone());
    }
}

struct Context {
    outcomes: Arc<Outcomes>,
}

impl ClientContext for Context {}

impl ProducerContext for Context {
    type DeliveryOpaque = Box<Delivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, delivery: Box<Delivery>) {
        let outcome = match result {
            Ok(message) => Ok(RecordMetadata {
                topic: Arc::from(message.topic()),
                partition: u32::try_from(message.partition()).unwrap_or_default(),
                offset: non_negative(message.offset()),
                timestamp: message.timestamp().to_millis().unwrap_or(-1),
            }),
            Err((error, message)) => {
                let error = kafka_error("produce", Subject::topic(message.topic()), error);
                self.outcomes.fail(&error);
                Err(error)
            }
        };
        match *delivery {
            Delivery::Forget => {}
            Delivery::Callback(callback) => (callback.into_inner())(outcome),
            Delivery::Sync(slot) => slot.fill(outcome),
        }
    }
}

pub(crate) struct KafkaProducer {
    producer: ThreadedProducer<Context>,
    outcomes: Arc<Outcomes>,
    closed: AtomicBool,
    /// How long `send_sync` waits at most: librdkafka ends every delivery
    /// within `delivery.timeout.ms`.
    sync_limit: Duration,
    /// How long a send waits for room in librdkafka's queue (`max.block.ms`).
    max_block: Duration,
    client_id: String,
}

impl std::fmt::Debug for KafkaProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaProducer")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl KafkaProducer {
    pub(crate) fn new(log: &KafkaLog, config: &ProducerConfig) -> Result<KafkaProducer> {
        config.validate()?;
        let props = producer_properties(log.config().client_config(), config)?;
        let outcomes = Arc::new(Outcomes::default());
        let context = Context {
            outcomes: Arc::clone(&outcomes),
        };
        let producer = ThreadedProducer::from_config_and_context(&props, context)
            .map_err(|e| kafka_error("create producer", Subject::default(), &e))?;
        Ok(KafkaProducer {
            producer,
            outcomes,
            closed: AtomicBool::new(false),
            sync_limit: config
                .delivery_timeout
                .saturating_add(config.request_timeout),
            max_block: config.max_block,
            client_id: config.client_id.clone(),
        })
    }

    pub(crate) fn send(&self, record: ProducerRecord) -> Result<()> {
        self.enqueue(&record, Delivery::Forget)
            .map_err(|(e, _)| e)
            .inspect_err(|e| self.count_refused(e))
    }

    pub(crate) fn send_sync(&self, record: ProducerRecord) -> Result<RecordMetadata> {
        let slot = Arc::new(SyncSlot::default());
        self.enqueue(&record, Delivery::Sync(Arc::clone(&slot)))
            .map_err(|(e, _)| e)
            .inspect_err(|e| self.count_refused(e))?;
        slot.wait(self.sync_limit, false)
    }

    pub(crate) fn send_with_callback(
        &self,
        record: ProducerRecord,
        callback: Callback,
    ) -> Result<()> {
        // As the embedded producer does: a record refused at once goes to
        // the callback, and the call succeeds (unless the producer is closed).
        match self.enqueue(&record, Delivery::Callback(Mutex::new(callback))) {
            Err((Error::Closed(what), _)) => Err(Error::Closed(what)),
            Err((error, delivery)) => {
                self.count_refused(&error);
                if let Delivery::Callback(callback) = *delivery {
                    (callback.into_inner())(Err(error));
                }
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    fn count_refused(&self, error: &Error) {
        if !matches!(error, Error::Closed(_)) {
            self.outcomes.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues `record`; a refusal hands the delivery back.
    fn enqueue(
        &self,
        record: &ProducerRecord,
        delivery: Delivery,
    ) -> std::result::Result<(), (Error, Box<Delivery>)> {
        if self.closed.load(Ordering::Acquire) {
            return Err((Error::Closed("producer"), Box::new(delivery)));
        }
        let topic = record.topic();
        let mut base: BaseRecord<'_, [u8], [u8], Box<Delivery>> =
            BaseRecord::with_opaque_to(topic, Box::new(delivery));
        if let Some(partition) = record.partition {
            base = base.partition(partition_i32(partition));
        }
        if let Some(key) = record.key.as_deref() {
            base = base.key(key);
        }
        if let Some(value) = record.value.as_deref() {
            base = base.payload(value);
        }
        if let Some(timestamp) = record.timestamp {
            base = base.timestamp(timestamp);
        }
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for header in &record.headers {
                headers = headers.insert(KafkaHeader {
                    key: header.name(),
                    value: Some(header.value()),
                });
            }
            base = base.headers(headers);
        }
        // Kafka's send blocks up to max.block.ms while the buffer is full;
        // librdkafka refuses at once, so the record is offered again as
        // the poll thread's deliveries free room.
        let deadline = Instant::now().checked_add(self.max_block);
        let mut backoff = Duration::from_millis(1);
        loop {
            match self.producer.send(base) {
                Ok(()) => return Ok(()),
                Err((error, returned)) => {
                    let full = error.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull);
                    if !full || deadline.is_some_and(|d| Instant::now() >= d) {
                        let error = match full {
                            true => Error::Timeout {
                                op: "max.block.ms",
                                timeout: self.max_block,
                            },
                            false => refused(topic, record.partition, &error),
                        };
                        return Err((error, returned.delivery_opaque));
                    }
                    base = returned;
                    // librdkafka signals no room: a short backoff stands in.
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
            }
        }
    }

    pub(crate) fn flush(&self) {
        let _ = self.producer.flush(Timeout::Never);
        let _ = self.outcomes.first_failure.lock().take();
    }

    pub(crate) fn flush_timeout(&self, timeout: Duration) -> Result<()> {
        if self.producer.flush(timeout).is_err() {
            return Err(Error::Timeout {
                op: "flush",
                timeout,
            });
        }
        self.outcomes
            .first_failure
            .lock()
            .take()
            .map_or(Ok(()), Err)
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.producer.flush(Timeout::Never);
    }

    pub(crate) fn failed_sends(&self) -> u64 {
        self.outcomes.failed.load(Ordering::Relaxed)
    }
}

impl Drop for KafkaProducer {
    fn drop(&mut self) {
        self.close();
    }
}

/// A record librdkafka would not queue, as the embedded producer reports it.
fn refused(topic: &str, partition: Option<u32>, error: &rdkafka::error::KafkaError) -> Error {
    match (error.rdkafka_error_code(), partition) {
        (Some(RDKafkaErrorCode::UnknownPartition), Some(partition)) => Error::InvalidPartition {
            topic: topic.to_string(),
            partition,
            partitions: 0,
        },
        (Some(RDKafkaErrorCode::MessageSizeTooLarge), _) => Error::RecordTooLarge {
            size: 0,
            max: 0,
            limit: "message.max.bytes",
        },
        _ => kafka_error("send", Subject::topic(topic), error),
    }
}

/// `config` plus the producer's settings.
fn producer_properties(base: ClientConfig, config: &ProducerConfig) -> Result<ClientConfig> {
    if config.partitioner.is_some() {
        return Err(Error::config(
            "partitioner",
            "custom",
            "a Log connected to Kafka places records with librdkafka's murmur2 partitioner \
             (the Java client's choice for keyed records); a custom Partitioner needs the embedded log",
        ));
    }
    let compression = match config.compression {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
        Compression::Lz4 => "lz4",
        Compression::Zstd => {
            return Err(Error::config(
                "compression.type",
                "zstd",
                "the Kafka client is built without zstd; use gzip, snappy or lz4",
            ))
        }
    };
    let acks = match config.acks {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "all",
    };
    let mut props = base;
    props
        .set("acks", acks)
        .set("linger.ms", millis(config.linger))
        .set("batch.size", config.batch_size.to_string())
        // librdkafka's limit on the producer's queue, in KiB.
        .set(
            "queue.buffering.max.kbytes",
            (config.buffer_memory / 1024)
                .clamp(1, 2_147_483_647)
                .to_string(),
        )
        // Java's max.request.size bounds one record; librdkafka's
        // message.max.bytes is the same bound.
        .set(
            "message.max.bytes",
            config.max_request_size.max(1000).to_string(),
        )
        .set("delivery.timeout.ms", millis(config.delivery_timeout))
        .set("request.timeout.ms", millis(config.request_timeout))
        .set("enable.idempotence", config.enable_idempotence.to_string())
        .set("retries", config.retries.min(2_147_483_647).to_string())
        .set("retry.backoff.ms", millis(config.retry_backoff))
        .set("retry.backoff.max.ms", millis(config.retry_backoff_max))
        .set("client.id", &config.client_id)
        .set("compression.type", compression)
        // The Java client's placement of keyed records.
        .set("partitioner", "murmur2_random");
    Ok(props)
}

fn millis(duration: std::time::Duration) -> String {
    duration.as_millis().min(2_147_483_647).to_string()
}
