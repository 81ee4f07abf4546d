//! A Kafka wire-protocol listener over an embedded [`Log`]:
//! kcat, librdkafka, kafka-python and other Kafka clients connect to it as to a
//! Kafka cluster (feature `kafka`).
//!
//! [`KafkaServer::start`] binds one TCP port per simulated broker, so a
//! client's metadata shows every broker with its id, the partition leaders
//! and their ISRs, and follows a leader change when a broker is killed
//! through [`Log::cluster`](crate::Log::cluster). The server is synchronous:
//! one accept thread per broker and one thread per connection, each request
//! handled to completion before the next one is read (Kafka's own
//! per-connection ordering).
//!
//! ```no_run
//! use std::sync::Arc;
//! use tidelog::kafka::KafkaServer;
//! use tidelog::Log;
//! # let dir = tempfile::tempdir()?;
//! let log = Arc::new(Log::open(dir.path())?);
//! let server = KafkaServer::start(Arc::clone(&log), "127.0.0.1")?;
//! println!("bootstrap.servers={}", server.bootstrap_servers());
//! // ... clients produce and consume ...
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod admin;
mod apis;
mod codes;
mod conn;
mod data;
mod frame;
mod group_state;
mod groups;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::Log;

pub use frame::MAX_FRAME_BYTES;

/// A running Kafka listener: one port per broker of the `Log`.
///
/// Stops on [`KafkaServer::shutdown`] or when dropped: it stops accepting,
/// closes every connection and joins its threads. The `Log` stays open.
pub struct KafkaServer {
    shared: Arc<Shared>,
    acceptors: Vec<JoinHandle<()>>,
}

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) log: Arc<Log>,
    /// Listening address of each broker, by broker id.
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) host: String,
    stopping: AtomicBool,
    connections: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
    pub(crate) groups: groups::WireGroups,
}

impl Shared {
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

impl KafkaServer {
    /// Starts listening on `host` (an IP address such as `127.0.0.1`), one
    /// port chosen by the OS per broker of `log`. The ports are advertised
    /// in Metadata under `host`.
    pub fn start(log: Arc<Log>, host: &str) -> Result<KafkaServer> {
        #[cfg(feature = "kafka-client")]
        if !log.is_embedded() {
            return Err(Error::NeedsEmbedded("KafkaServer"));
        }
        let brokers = log.core().broker_ids();
        let ports = vec![0; brokers.len()];
        Self::start_on(log, host, &ports)
    }

    /// Like [`KafkaServer::start`] with a given port per broker (`0`: any
    /// free port); `ports` must have one entry per broker.
    pub fn start_on(log: Arc<Log>, host: &str, ports: &[u16]) -> Result<KafkaServer> {
        #[cfg(feature = "kafka-client")]
        if !log.is_embedded() {
            return Err(Error::NeedsEmbedded("KafkaServer"));
        }
        let brokers = log.core().broker_ids();
        if ports.len() != brokers.len() {
            return Err(Error::config(
                "listeners",
                format!("{ports:?}"),
                format!("needs one port per broker ({})", brokers.len()),
            ));
        }
        let mut listeners = Vec::with_capacity(ports.len());
        for port in ports {
            let addr = format!("{host}:{port}");
            let listener =
                TcpListener::bind(&addr).map_err(|e| Error::io("bind", addr.clone(), e))?;
            listeners.push(listener);
        }
        let addrs = listeners
            .iter()
            .map(|l| l.local_addr().map_err(|e| Error::io("bind", host, e)))
            .collect::<Result<Vec<_>>>()?;
        let shared = Arc::new(Shared {
            log,
            addrs,
            host: host.to_string(),
            stopping: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
            groups: groups::WireGroups::default(),
        });
        let mut acceptors = Vec::with_capacity(listeners.len());
        for (broker, listener) in brokers.into_iter().zip(listeners) {
            let shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("tidelog-kafka-accept-{broker}"))
                .spawn(move || accept_loop(&shared, broker, &listener))
                .map_err(|e| Error::io("spawn", "tidelog-kafka-accept", e))?;
            acceptors.push(handle);
        }
        Ok(KafkaServer { shared, acceptors })
    }

    /// The listening address of every broker, by broker id.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.shared.addrs
    }

    /// `host:port,host:port,...`: the value for a client's `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        let all: Vec<String> = self.shared.addrs.iter().map(|a| a.to_string()).collect();
        all.join(",")
    }

    /// Stops accepting, closes every connection and joins the threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if self.shared.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        // Wake the requests parked in a long-poll or a group round, and each
        // acceptor blocked in accept().
        self.shared.groups.wake_all();
        self.shared.log.core().data_signal().notify();
        for addr in &self.shared.addrs {
            let _ = TcpStream::connect(addr);
        }
        for handle in self.acceptors.drain(..) {
            let _ = handle.join();
        }
        let connections = std::mem::take(&mut *self.shared.connections.lock());
        for (stream, _) in &connections {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        for (_, handle) in connections {
            let _ = handle.join();
        }
    }
}

impl Drop for KafkaServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(shared: &Arc<Shared>, broker: u32, listener: &TcpListener) {
    for stream in listener.incoming() {
        if shared.stopping() {
            return;
        }
        let Ok(stream) = stream else { continue };
        let Ok(handle_stream) = stream.try_clone() else {
            continue;
        };
        let conn_shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("tidelog-kafka-conn-{broker}"))
            .spawn(move || conn::serve(&conn_shared, broker, stream));
        if let Ok(handle) = spawned {
            let mut connections = shared.connections.lock();
            // Forget connections that already ended.
            connections.retain(|(_, h)| !h.is_finished());
            connections.push((handle_stream, handle));
        }
    }
}
