//! Producer configuration.

use std::time::Duration;

use super::{Partitioner, PartitionerRef};
use crate::config::{parse, properties_loading, Acks, KeyDoc, Scope};
use crate::error::{Error, Result};
use crate::record::Compression;

/// Every producer key: the README's producer table is checked against it.
pub(crate) const PRODUCER: Scope<ProducerConfig> = Scope {
    name: "producer",
    keys: &[
        KeyDoc {
            name: "acks",
            default: Some("all"),
            doc: "0: do not wait; 1: the leader appended; all: every in-sync replica has it",
            apply: |c, k, v| {
                c.acks = Acks::parse(k, v)?;
                Ok(())
            },
            get: |c| Some(c.acks.as_str().to_string()),
        },
        KeyDoc {
            name: "linger.ms",
            default: Some("5"),
            doc: "How long a batch waits for more records before it is sent",
            apply: |c, k, v| {
                c.linger = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.linger)),
        },
        KeyDoc {
            name: "batch.size",
            default: Some("16384"),
            doc: "Bytes at which a partition's batch is sent without waiting",
            apply: |c, k, v| {
                c.batch_size = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.batch_size.to_string()),
        },
        KeyDoc {
            name: "buffer.memory",
            default: Some("33554432"),
            doc: "Bytes of unsent records a producer holds before send blocks",
            apply: |c, k, v| {
                c.buffer_memory = parse::positive_u64(k, v)?;
                Ok(())
            },
            get: |c| Some(c.buffer_memory.to_string()),
        },
        KeyDoc {
            name: "max.block.ms",
            default: Some("60000"),
            doc: "How long send blocks on a full buffer before it fails",
            apply: |c, k, v| {
                c.max_block = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.max_block)),
        },
        KeyDoc {
            name: "max.request.size",
            default: Some("1048576"),
            doc: "Largest record a producer sends",
            apply: |c, k, v| {
                c.max_request_size = parse::size_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.max_request_size.to_string()),
        },
        KeyDoc {
            name: "delivery.timeout.ms",
            default: Some("120000"),
            doc: "Upper bound on the time from send to success or failure",
            apply: |c, k, v| {
                c.delivery_timeout = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.delivery_timeout)),
        },
        KeyDoc {
            name: "request.timeout.ms",
            default: Some("30000"),
            doc: "How long one append waits for its acknowledgement",
            apply: |c, k, v| {
                c.request_timeout = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.request_timeout)),
        },
        KeyDoc {
            name: "enable.idempotence",
            default: Some("true"),
            doc: "Producer id and sequence numbers so retries never duplicate",
            apply: |c, k, v| {
                c.enable_idempotence = parse::bool_value(k, v)?;
                Ok(())
            },
            get: |c| Some(c.enable_idempotence.to_string()),
        },
        KeyDoc {
            name: "retries",
            default: Some("2147483647"),
            doc: "How often a retriable failure is retried within delivery.timeout.ms",
            apply: |c, k, v| {
                let n = parse::u64_value(k, v)?;
                c.retries = u32::try_from(n).unwrap_or(u32::MAX);
                Ok(())
            },
            get: |c| Some(c.retries.to_string()),
        },
        KeyDoc {
            name: "retry.backoff.ms",
            default: Some("100"),
            doc: "First wait before a retry",
            apply: |c, k, v| {
                c.retry_backoff = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.retry_backoff)),
        },
        KeyDoc {
            name: "retry.backoff.max.ms",
            default: Some("1000"),
            doc: "Longest wait between retries (the backoff doubles up to it)",
            apply: |c, k, v| {
                c.retry_backoff_max = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.retry_backoff_max)),
        },
        KeyDoc {
            name: "client.id",
            default: Some("producer"),
            doc: "Name used in thread names and errors",
            apply: |c, k, v| {
                c.client_id = parse::non_empty(k, v)?;
                Ok(())
            },
            get: |c| Some(c.client_id.clone()),
        },
        KeyDoc {
            name: "compression.type",
            default: Some("none"),
            doc: "Codec of produced batches: none, gzip, snappy, lz4 or zstd",
            apply: |c, k, v| {
                c.compression = parse::producer_compression(k, v)?;
                Ok(())
            },
            get: |c| Some(c.compression.name().to_string()),
        },
    ],
    ignored: &[
        "bootstrap.servers",
        "key.serializer",
        "value.serializer",
        "client.dns.lookup",
        "connections.max.idle.ms",
        "max.in.flight.requests.per.connection",
        "metadata.max.age.ms",
        "metadata.max.idle.ms",
        "reconnect.backoff.ms",
        "reconnect.backoff.max.ms",
        "receive.buffer.bytes",
        "send.buffer.bytes",
        "socket.connection.setup.timeout.ms",
        "socket.connection.setup.timeout.max.ms",
        "interceptor.classes",
        "partitioner.adaptive.partitioning.enable",
        "partitioner.availability.timeout.ms",
        "auto.include.jmx.reporter",
        "enable.metrics.push",
        "metric.reporters",
        "metrics.",
        "security.protocol",
        "security.providers",
        "ssl.",
        "sasl.",
    ],
    refused: &[
        ("transactional.id", "transactions are not supported"),
        ("transaction.timeout.ms", "transactions are not supported"),
        (
            "partitioner.class",
            "a class name cannot be loaded in Rust; pass a Partitioner to ProducerConfig::partitioner",
        ),
        (
            "partitioner.ignore.keys",
            "keys always choose the partition; pass a Partitioner to ProducerConfig::partitioner to change that",
        ),
    ],
};

/// How a [`Producer`](crate::Producer) batches, waits and retries.
///
/// Kafka's names go through [`set`](Self::set), a list of pairs through
/// [`set_all`](Self::set_all) and a Kafka `.properties` file through
/// [`load_file`](Self::load_file); [`ignored_keys`](Self::ignored_keys)
/// lists the Kafka keys that were accepted but mean nothing in-process.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use tidelog::{Acks, ProducerConfig};
/// let config = ProducerConfig::new().acks(Acks::Leader).set("linger.ms", "1")?;
/// # Ok::<(), tidelog::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerConfig {
    pub(crate) acks: Acks,
    pub(crate) linger: Duration,
    pub(crate) batch_size: u32,
    pub(crate) buffer_memory: u64,
    pub(crate) max_block: Duration,
    pub(crate) max_request_size: u32,
    pub(crate) delivery_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) enable_idempotence: bool,
    pub(crate) retries: u32,
    pub(crate) retry_backoff: Duration,
    pub(crate) retry_backoff_max: Duration,
    pub(crate) client_id: String,
    pub(crate) compression: Compression,
    pub(crate) partitioner: Option<PartitionerRef>,
    pub(crate) ignored: Vec<String>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            buffer_memory: 32 << 20,
            max_block: Duration::from_millis(60_000),
            max_request_size: 1 << 20,
            delivery_timeout: Duration::from_millis(120_000),
            request_timeout: Duration::from_millis(30_000),
            enable_idempotence: true,
            retries: i32::MAX as u32,
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1000),
            client_id: "producer".to_string(),
            compression: Compression::None,
            partitioner: None,
            ignored: Vec::new(),
        }
    }
}

impl ProducerConfig {
    /// The defaults (Kafka's).
    pub fn new() -> Self {
        Self::default()
    }

    /// Acknowledgement level.
    ///
    /// Default: [`Acks::All`]. Kafka: `acks`.
    #[must_use]
    pub fn acks(mut self, acks: Acks) -> Self {
        self.acks = acks;
        self
    }

    /// How long a batch waits for more records.
    ///
    /// Default: 5 ms. Kafka: `linger.ms`. Range: ≥ 0.
    #[must_use]
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Batch size in bytes at which a batch is sent at once.
    ///
    /// Default: 16 384. Kafka: `batch.size`. Range: ≥ 1.
    #[must_use]
    pub fn batch_size(mut self, bytes: u32) -> Self {
        self.batch_size = bytes;
        self
    }

    /// Bytes of unsent records held before `send` blocks.
    ///
    /// Default: 32 MiB. Kafka: `buffer.memory`. Range: ≥ 1.
    #[must_use]
    pub fn buffer_memory(mut self, bytes: u64) -> Self {
        self.buffer_memory = bytes;
        self
    }

    /// How long `send` blocks on a full buffer.
    ///
    /// Default: 60 s. Kafka: `max.block.ms`.
    #[must_use]
    pub fn max_block(mut self, max_block: Duration) -> Self {
        self.max_block = max_block;
        self
    }

    /// Upper bound from send to success or failure.
    ///
    /// Default: 120 s. Kafka: `delivery.timeout.ms`.
    #[must_use]
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// Whether retries are deduplicated by producer id and sequence.
    ///
    /// Default: true. Kafka: `enable.idempotence`.
    #[must_use]
    pub fn idempotence(mut self, enabled: bool) -> Self {
        self.enable_idempotence = enabled;
        self
    }

    /// Most bytes one record (as a batch of one) may take.
    ///
    /// Default: 1 MiB. Kafka: `max.request.size`. Range: ≥ 1.
    #[must_use]
    pub fn max_request_size(mut self, bytes: u32) -> Self {
        self.max_request_size = bytes;
        self
    }

    /// How long one append waits for its acknowledgement.
    ///
    /// Default: 30 s. Kafka: `request.timeout.ms`.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How often a retriable failure is retried (within `delivery.timeout.ms`).
    ///
    /// Default: 2 147 483 647. Kafka: `retries`.
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The wait before the first retry; it doubles per retry up to
    /// `retry.backoff.max.ms`.
    ///
    /// Default: 100 ms. Kafka: `retry.backoff.ms`.
    #[must_use]
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// Name used in the sender thread's name (`tidelog-producer-<client.id>`).
    ///
    /// Default: `producer`. Kafka: `client.id`.
    #[must_use]
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// Codec the producer compresses each batch with. The size limits
    /// (`max.request.size` here, `max.message.bytes` on the topic) bound a
    /// batch as it fills, before compression, so a compressed batch is
    /// never larger than they allow.
    ///
    /// Default: [`Compression::None`]. Kafka: `compression.type`.
    #[must_use]
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Chooses partitions for records without an explicit partition, in
    /// place of the default (murmur2 of the key, sticky when keyless).
    ///
    /// Default: none. Kafka: `partitioner.class`.
    #[must_use]
    pub fn partitioner(mut self, partitioner: impl Partitioner + 'static) -> Self {
        self.partitioner = Some(PartitionerRef(std::sync::Arc::new(partitioner)));
        self
    }

    /// Checks values that are only wrong in combination.
    pub(crate) fn validate(&self) -> Result<()> {
        let floor = self.linger.saturating_add(self.request_timeout);
        if self.delivery_timeout < floor {
            return Err(Error::config(
                "delivery.timeout.ms",
                self.delivery_timeout.as_millis().to_string(),
                format!(
                    "must be at least linger.ms + request.timeout.ms ({} ms)",
                    floor.as_millis()
                ),
            ));
        }
        parse::available(
            "compression.type",
            self.compression.name(),
            self.compression,
        )?;
        if self.client_id.is_empty() {
            return Err(Error::config("client.id", "", "must not be empty"));
        }
        if self.batch_size == 0 || self.buffer_memory == 0 || self.max_request_size == 0 {
            return Err(Error::config(
                "batch.size",
                self.batch_size.to_string(),
                "batch.size, buffer.memory and max.request.size must be at least 1",
            ));
        }
        Ok(())
    }

    /// Sets a value by its Kafka producer name, e.g. `"linger.ms"`.
    ///
    /// Kafka's client keys that mean nothing in-process (`bootstrap.servers`,
    /// serializers, `security.*`, `ssl.*`, `sasl.*`, ...) are accepted and
    /// listed by [`ignored_keys`](Self::ignored_keys).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the key, for an unknown key (with the
    /// closest known one), a refused one (`transactional.id`) or a bad value.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let mut ignored = std::mem::take(&mut self.ignored);
        let result = PRODUCER.set(&mut self, &mut ignored, key, value);
        self.ignored = ignored;
        result.map(|()| self)
    }

    /// The Kafka keys that were set but have no effect in-process, in the
    /// order they were first set; Kafka's clients warn about such keys.
    pub fn ignored_keys(&self) -> &[String] {
        &self.ignored
    }

    properties_loading!();
}

#[cfg(test)]
mod tests {
    use super::*;

    struct First;
    impl Partitioner for First {
        fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, _: u32) -> u32 {
            0
        }
    }

    #[test]
    fn kafka_names_and_typed_setters_end_in_the_same_fields() {
        let by_name = ProducerConfig::new()
            .set("acks", "1")
            .unwrap()
            .set("linger.ms", "7")
            .unwrap()
            .set("retries", "3")
            .unwrap()
            .set("client.id", "billing")
            .unwrap();
        let typed = ProducerConfig::new()
            .acks(Acks::Leader)
            .linger(Duration::from_millis(7))
            .retries(3)
            .client_id("billing");
        assert_eq!(by_name, typed);
    }

    #[test]
    fn a_partitioner_keeps_the_config_debug_clone_and_comparable() {
        let config = ProducerConfig::new().partitioner(First);
        let copy = config.clone();
        assert_eq!(config, copy);
        assert_ne!(config, ProducerConfig::new().partitioner(First));
        assert!(format!("{config:?}").contains("Partitioner"));
    }

    #[test]
    fn delivery_timeout_must_cover_linger_and_request_timeout() {
        let config = ProducerConfig::new()
            .delivery_timeout(Duration::from_millis(100))
            .request_timeout(Duration::from_millis(50))
            .linger(Duration::from_millis(60));
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidConfig { key, .. }) if key == "delivery.timeout.ms"
        ));
        assert!(ProducerConfig::new().validate().is_ok());
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("acks", "2"),
            ("batch.size", "0"),
            ("enable.idempotence", "yes"),
            ("linger.ms", "-5"),
            ("client.id", " "),
            ("no.such.key", "1"),
        ] {
            assert!(
                matches!(ProducerConfig::new().set(key, value), Err(Error::InvalidConfig { key: k, .. }) if k == key),
                "{key} = {value} accepted"
            );
        }
    }
}
