//! Serves a data directory to Kafka clients, for trying clients by hand and
//! for the client test scripts.
//!
//! ```text
//! cargo run --features kafka --example kafka_serve -- DIR [HOST [PORT]]
//! ```
//!
//! Broker N listens on PORT + N (all ports chosen by the OS without PORT).
//! Prints `bootstrap=host:port,...` once listening, then reads commands on
//! stdin, one a line: `kill N`, `restart N`, `shutdown N` (broker N),
//! `create TOPIC PARTITIONS`, `leaders TOPIC` (prints `leader P N` per
//! partition), `quit`. It stops
//! cleanly on `quit` or when stdin closes.

use std::io::{BufRead, Write};
use std::sync::Arc;

use tidelog::kafka::KafkaServer;
use tidelog::{Log, TopicConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: kafka_serve DIR [HOST [PORT]]")?;
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let log = Arc::new(Log::open(&dir)?);
    let server = match args.next() {
        Some(port) => {
            let first: u16 = port.parse()?;
            let brokers = log.cluster().brokers().len();
            let ports: Vec<u16> = (0..brokers)
                .map(|n| u16::try_from(n).ok().and_then(|n| first.checked_add(n)))
                .collect::<Option<_>>()
                .ok_or("PORT + broker count exceeds 65535")?;
            KafkaServer::start_on(Arc::clone(&log), &host, &ports)?
        }
        None => KafkaServer::start(Arc::clone(&log), &host)?,
    };
    println!("bootstrap={}", server.bootstrap_servers());
    std::io::stdout().flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let outcome = match words.as_slice() {
            ["quit"] => break,
            ["kill", id] => log.cluster().broker(id.parse()?)?.kill(),
            ["restart", id] => log.cluster().broker(id.parse()?)?.restart(),
            ["shutdown", id] => log.cluster().broker(id.parse()?)?.shutdown(),
            ["create", topic, partitions] => log
                .create_topic(topic, TopicConfig::new().partitions(partitions.parse()?))
                .map(|_| ()),
            ["leaders", topic] => {
                for p in 0..log.topic(topic)?.partition_count() {
                    let leader = log.cluster().partition(topic, p)?.leader();
                    println!("leader {p} {}", leader.map_or(-1, i64::from));
                }
                Ok(())
            }
            [] => Ok(()),
            _ => {
                println!("error unknown command: {line}");
                Ok(())
            }
        };
        match outcome {
            Ok(()) => println!("ok"),
            Err(e) => println!("error {e}"),
        }
        std::io::stdout().flush()?;
    }
    server.shutdown();
    match Arc::try_unwrap(log) {
        Ok(log) => log.close()?,
        Err(_) => return Err("the log is still shared".into()),
    }
    Ok(())
}
