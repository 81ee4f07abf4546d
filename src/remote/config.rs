//! `KafkaConfig`: the client properties of a Kafka cluster connection.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;

use crate::error::{Error, Result};

/// Kafka's Java client name for the time an admin or metadata call may take;
/// librdkafka has no such property, so tidelog keeps it.
const API_TIMEOUT_KEY: &str = "default.api.timeout.ms";

/// How to reach a Kafka cluster, for [`Log::connect`](crate::Log::connect).
///
/// Keys are the Kafka client's property names (`bootstrap.servers`,
/// `client.id`, `security.protocol`, `sasl.*`, `ssl.*`, ...) as librdkafka
/// knows them; they apply to every producer, consumer and admin client the
/// [`Log`](crate::Log) creates. `default.api.timeout.ms` (Kafka's Java name,
/// 60000 by default) bounds admin and metadata calls.
///
/// # Examples
/// ```
/// use tidelog::KafkaConfig;
/// let config = KafkaConfig::new().set("bootstrap.servers", "127.0.0.1:9092")?;
/// assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9092"));
/// assert!(KafkaConfig::new().set("linger.ms", "soon").is_err());
/// # Ok::<(), tidelog::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KafkaConfig {
    properties: BTreeMap<String, String>,
    api_timeout: Option<Duration>,
}

impl KafkaConfig {
    /// An empty configuration; at least `bootstrap.servers` is needed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one client property, checked by librdkafka at once.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a key librdkafka does not know or a
    /// value it refuses, with librdkafka's reason.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        if key == API_TIMEOUT_KEY {
            let millis = value
                .parse::<u64>()
                .map_err(|_| Error::config(key, value, "expected milliseconds"))?;
            self.api_timeout = Some(Duration::from_millis(millis));
            return Ok(self);
        }
        let mut probe = ClientConfig::new();
        probe.set(key, value);
        probe
            .create_native_config()
            .map_err(|e| Error::config(key, value, e.to_string()))?;
        self.properties.insert(key.to_string(), value.to_string());
        Ok(self)
    }

    /// The value set for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    /// The bound on admin and metadata calls.
    pub(crate) fn api_timeout(&self) -> Duration {
        self.api_timeout.unwrap_or(Duration::from_secs(60))
    }

    /// A librdkafka configuration holding every property set here.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// Refuses a connection without a bootstrap list before any thread starts.
    pub(crate) fn validate(&self) -> Result<()> {
        match self.get("bootstrap.servers") {
            Some(servers) if !servers.trim().is_empty() => Ok(()),
            _ => Err(Error::config(
                "bootstrap.servers",
                "",
                "Log::connect needs the host:port list of the cluster's brokers",
            )),
        }
    }
}
