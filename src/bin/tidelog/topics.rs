//! `tidelog topics`: list, create, describe and delete topics, like
//! `kafka-topics`.

use std::path::PathBuf;

use tidelog::{ConsumerConfig, Log, TopicConfig, TopicPartition};

use crate::args::{open_log, required, Args};
use crate::error::CliError;

const USAGE: &str = "\
usage: tidelog topics list --dir D
       tidelog topics create --dir D --topic T [--partitions N] [--replication-factor R]
                             [--config k=v ...]
       tidelog topics describe --dir D [--topic T]
       tidelog topics delete --dir D --topic T

  --dir D                  the Log's data directory (required)
  --topic T                topic name (create, delete; describe: only this topic)
  --partitions N           partitions of a new topic (default: the Log's num.partitions, 1)
  --replication-factor R   replicas per partition (default: the Log's default.replication.factor)
  --config k=v             topic settings with Kafka's names (retention.ms=..., segment.bytes=...)";

#[derive(Default)]
struct Options {
    dir: Option<PathBuf>,
    topic: Option<String>,
    partitions: Option<u32>,
    replication_factor: Option<u32>,
    configs: Vec<(String, String)>,
}

pub(crate) fn run(args: &mut Args) -> Result<(), CliError> {
    let action = args.command(USAGE)?;
    let options = parse(args)?;
    let log = open_log(&options.dir, args)?;
    let result = match action.as_str() {
        "list" => list(&log),
        "create" => create(&log, &options, args),
        "describe" => describe(&log, &options),
        "delete" => delete(&log, &options, args),
        other => Err(args.error(format!("unknown topics command {other:?}"))),
    };
    log.close()?;
    result
}

fn parse(args: &mut Args) -> Result<Options, CliError> {
    let mut options = Options::default();
    while let Some(flag) = args.next()? {
        match flag.as_str() {
            "--dir" => options.dir = Some(args.value(&flag)?.into()),
            "--topic" => options.topic = Some(args.value(&flag)?),
            "--partitions" => options.partitions = Some(args.parsed(&flag)?),
            "--replication-factor" => options.replication_factor = Some(args.parsed(&flag)?),
            "--config" => options.configs.extend(args.properties(&flag)?),
            other => return Err(args.unknown(other)),
        }
    }
    Ok(options)
}

fn list(log: &Log) -> Result<(), CliError> {
    for topic in log.topics() {
        println!("{topic}");
    }
    Ok(())
}

fn create(log: &Log, options: &Options, args: &Args) -> Result<(), CliError> {
    let topic = required(options.topic.as_ref(), "--topic", args)?;
    let mut config = TopicConfig::new();
    if let Some(partitions) = options.partitions {
        config = config.partitions(partitions);
    }
    if let Some(replicas) = options.replication_factor {
        config = config.replication_factor(replicas);
    }
    for (key, value) in &options.configs {
        config = config.set(key, value)?;
    }
    log.create_topic(topic, config)?;
    println!("Created topic {topic}.");
    Ok(())
}

fn delete(log: &Log, options: &Options, args: &Args) -> Result<(), CliError> {
    let topic = required(options.topic.as_ref(), "--topic", args)?;
    log.delete_topic(topic)?;
    println!("Deleted topic {topic}.");
    Ok(())
}

/// Kafka's layout, one line per topic and one per partition, with the
/// offsets a Kafka user would otherwise ask `kafka-get-offsets` for.
fn describe(log: &Log, options: &Options) -> Result<(), CliError> {
    let names = match &options.topic {
        Some(topic) => vec![log.topic(topic)?.name().to_string()],
        None => log.topics(),
    };
    // A consumer outside any group only reads offsets here.
    let consumer = log.consumer(ConsumerConfig::new())?;
    let cluster = log.cluster();
    for name in names {
        let topic = log.topic(&name)?;
        let partitions: Vec<TopicPartition> = (0..topic.partition_count())
            .map(|p| TopicPartition::new(name.as_str(), p))
            .collect();
        let starts = consumer.beginning_offsets(&partitions)?;
        let ends = consumer.end_offsets(&partitions)?;
        let replication = cluster.partition(&name, 0)?.replicas().len();
        println!(
            "Topic: {name}\tPartitionCount: {}\tReplicationFactor: {replication}",
            topic.partition_count()
        );
        for tp in &partitions {
            let state = cluster.partition(&name, tp.partition())?;
            let leader = state.leader().map_or("none".to_string(), |l| l.to_string());
            println!(
                "\tTopic: {name}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}\tLogStartOffset: {}\tHighWatermark: {}",
                tp.partition(),
                ids(state.replicas()),
                ids(state.in_sync_replicas()),
                starts.get(tp).copied().unwrap_or(0),
                ends.get(tp).copied().unwrap_or(0),
            );
        }
    }
    Ok(())
}

/// Broker ids as Kafka prints them: `0,1,2`.
fn ids(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}
