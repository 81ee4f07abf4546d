//! `tidelog produce` and `tidelog consume`: the console producer (stdin
//! lines become records) and the console consumer (records to stdout).

use std::io::{self, BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidelog::{
    ConsumerConfig, ConsumerRecord, Log, OffsetAndMetadata, OffsetReset, ProducerConfig,
    ProducerRecord, TopicPartition,
};

use crate::args::{open_log, required, Args};
use crate::error::CliError;

const PRODUCE_USAGE: &str = "\
usage: tidelog produce --dir D --topic T [--property k=v ...] [--producer-property k=v ...]

Sends each line of stdin as one record, and waits for all of them to be
acknowledged before it exits.

  --dir D                   the Log's data directory (required)
  --topic T                 the topic (required; created when missing and the Log allows it)
  --property parse.key=true          split each line into key and value (default false)
  --property key.separator=S         where to split (default a tab)
  --producer-property k=v   producer settings with Kafka's names (acks=1, linger.ms=0, ...)";

const CONSUME_USAGE: &str = "\
usage: tidelog consume --dir D --topic T [--from-beginning] [--group G] [--max-messages N]
                       [--timeout-ms MS] [--property k=v ...] [--consumer-property k=v ...]

Prints each record's value on its own line. Nothing new can arrive while
this command holds the directory, so it stops once it has read to the end.

  --dir D                   the Log's data directory (required)
  --topic T                 the topic (required)
  --from-beginning          start at the oldest record when there is no committed offset
                            (default: only records that arrive later, as in Kafka)
  --group G                 read as a member of group G and commit what was printed
                            (default: no group, all partitions, nothing committed)
  --max-messages N          stop after N records (default: no limit)
  --timeout-ms MS           stop when no record came for this long (default 2000)
  --property print.key=true print the key before the value (also print.partition,
                            print.offset, print.timestamp; key.separator=S, default a tab)
  --consumer-property k=v   consumer settings with Kafka's names";

struct Options {
    dir: Option<PathBuf>,
    topic: Option<String>,
    from_beginning: bool,
    group: Option<String>,
    max_messages: Option<u64>,
    timeout: Duration,
    properties: Vec<(String, String)>,
    client_properties: Vec<(String, String)>,
}

fn parse(args: &mut Args, consumer: bool) -> Result<Options, CliError> {
    let mut options = Options {
        dir: None,
        topic: None,
        from_beginning: false,
        group: None,
        max_messages: None,
        timeout: Duration::from_millis(2000),
        properties: Vec::new(),
        client_properties: Vec::new(),
    };
    while let Some(flag) = args.next()? {
        match (flag.as_str(), consumer) {
            ("--dir", _) => options.dir = Some(args.value(&flag)?.into()),
            ("--topic", _) => options.topic = Some(args.value(&flag)?),
            ("--property", _) => options.properties.extend(args.properties(&flag)?),
            ("--producer-property", false) | ("--consumer-property", true) => {
                options.client_properties.extend(args.properties(&flag)?)
            }
            ("--from-beginning", true) => options.from_beginning = true,
            ("--group", true) => options.group = Some(args.value(&flag)?),
            ("--max-messages", true) => options.max_messages = Some(args.parsed(&flag)?),
            ("--timeout-ms", true) => options.timeout = Duration::from_millis(args.parsed(&flag)?),
            (other, _) => return Err(args.unknown(other)),
        }
    }
    Ok(options)
}

/// The console properties, with their defaults.
struct Format {
    parse_key: bool,
    print_key: bool,
    print_partition: bool,
    print_offset: bool,
    print_timestamp: bool,
    separator: String,
}

impl Format {
    fn new(properties: &[(String, String)], args: &Args) -> Result<Format, CliError> {
        let mut format = Format {
            parse_key: false,
            print_key: false,
            print_partition: false,
            print_offset: false,
            print_timestamp: false,
            separator: "\t".to_string(),
        };
        for (key, value) in properties {
            let flag = match key.as_str() {
                "parse.key" => &mut format.parse_key,
                "print.key" => &mut format.print_key,
                "print.partition" => &mut format.print_partition,
                "print.offset" => &mut format.print_offset,
                "print.timestamp" => &mut format.print_timestamp,
                "key.separator" => {
                    format.separator = value.clone();
                    continue;
                }
                other => return Err(args.error(format!("unknown --property {other:?}"))),
            };
            *flag = match value.as_str() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(
                        args.error(format!("--property {key}: {other:?} is not true or false"))
                    )
                }
            };
        }
        if format.separator.is_empty() {
            return Err(args.error("--property key.separator must not be empty"));
        }
        Ok(format)
    }
}

pub(crate) fn produce(args: &mut Args) -> Result<(), CliError> {
    args.set_usage(PRODUCE_USAGE);
    let options = parse(args, false)?;
    let topic = required(options.topic.clone(), "--topic", args)?;
    let format = Format::new(&options.properties, args)?;
    let mut config = ProducerConfig::new();
    for (key, value) in &options.client_properties {
        config = config.set(key, value)?;
    }
    let log = open_log(&options.dir, args)?;
    let result = send_lines(&log, config, &topic, &format);
    log.close()?;
    result
}

fn send_lines(
    log: &Log,
    config: ProducerConfig,
    topic: &str,
    format: &Format,
) -> Result<(), CliError> {
    let producer = log.producer(config)?;
    let first_failure: Arc<Mutex<Option<String>>> = Arc::default();
    let (mut sent, mut failed_at) = (0u64, None);
    for (number, line) in io::stdin().lock().lines().enumerate() {
        let line = line?;
        let record = match (format.parse_key, line.split_once(format.separator.as_str())) {
            (false, _) => ProducerRecord::new(topic, line),
            (true, Some((key, value))) => {
                ProducerRecord::new(topic, value.to_string()).key(key.to_string())
            }
            (true, None) => {
                failed_at = Some(format!(
                    "line {}: no key separator {:?} (parse.key=true)",
                    number + 1,
                    format.separator
                ));
                break;
            }
        };
        let failure = Arc::clone(&first_failure);
        producer.send_with_callback(record, move |result| {
            if let Err(error) = result {
                if let Ok(mut first) = failure.lock() {
                    first.get_or_insert_with(|| error.to_string());
                }
            }
        })?;
        sent += 1;
    }
    producer.close();
    let failed = producer.failed_sends();
    if let Some(message) = failed_at {
        return Err(CliError::Failed(format!(
            "{message}; the {sent} records before it were sent"
        )));
    }
    if let Some(error) = first_failure.lock().ok().and_then(|mut f| f.take()) {
        return Err(CliError::Failed(format!(
            "{failed} of {sent} records failed, the first with: {error}"
        )));
    }
    eprintln!("sent {sent} records to {topic:?}");
    Ok(())
}

pub(crate) fn consume(args: &mut Args) -> Result<(), CliError> {
    args.set_usage(CONSUME_USAGE);
    let options = parse(args, true)?;
    let topic = required(options.topic.clone(), "--topic", args)?;
    let format = Format::new(&options.properties, args)?;
    let reset = match options.from_beginning {
        true => OffsetReset::Earliest,
        false => OffsetReset::Latest,
    };
    let mut config = ConsumerConfig::new()
        .auto_offset_reset(reset)
        .enable_auto_commit(false);
    if let Some(group) = &options.group {
        config = config.group_id(group.as_str());
    }
    for (key, value) in &options.client_properties {
        config = config.set(key, value)?;
    }
    let log = open_log(&options.dir, args)?;
    let result = print_records(&log, config, &topic, &options, &format);
    log.close()?;
    let count = result?;
    eprintln!("Processed a total of {count} messages");
    Ok(())
}

fn print_records(
    log: &Log,
    config: ConsumerConfig,
    topic: &str,
    options: &Options,
    format: &Format,
) -> Result<u64, CliError> {
    let mut consumer = log.consumer(config)?;
    if options.group.is_some() {
        consumer.subscribe([topic])?;
    } else {
        let partitions = log.topic(topic)?.partition_count();
        let all: Vec<_> = (0..partitions)
            .map(|p| TopicPartition::new(topic, p))
            .collect();
        consumer.assign(&all)?;
    }
    let limit = options.max_messages.unwrap_or(u64::MAX);
    let mut out = BufWriter::new(io::stdout().lock());
    let (mut count, mut last_record) = (0u64, Instant::now());
    let mut printed: Vec<(TopicPartition, OffsetAndMetadata)> = Vec::new();
    while count < limit {
        let records = consumer.poll(Duration::from_millis(100))?;
        if records.is_empty()
            && (caught_up(&mut consumer)? || last_record.elapsed() >= options.timeout)
        {
            break;
        }
        for record in records.iter().take((limit - count) as usize) {
            print_record(&mut out, record, format)?;
            count += 1;
            note_printed(&mut printed, record);
            last_record = Instant::now();
        }
    }
    out.flush()?;
    if options.group.is_some() && !printed.is_empty() {
        // Exactly what was printed, even when --max-messages stopped
        // inside a poll's records.
        consumer.commit_offsets(&printed)?;
    }
    consumer.close()?;
    Ok(count)
}

/// Whether every assigned partition has been read to its high watermark.
/// False while a group member still waits for its assignment.
fn caught_up(consumer: &mut tidelog::Consumer) -> Result<bool, CliError> {
    let assigned = consumer.assignment();
    if assigned.is_empty() {
        return Ok(false);
    }
    let ends = consumer.end_offsets(&assigned)?;
    for tp in &assigned {
        if consumer.position(tp)? < ends.get(tp).copied().unwrap_or(0) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn note_printed(printed: &mut Vec<(TopicPartition, OffsetAndMetadata)>, record: &ConsumerRecord) {
    let tp = TopicPartition::new(record.topic(), record.partition());
    let next = OffsetAndMetadata::new(record.offset() + 1);
    match printed.iter_mut().find(|(p, _)| *p == tp) {
        Some(entry) => entry.1 = next,
        None => printed.push((tp, next)),
    }
}

/// Kafka's default formatter: the chosen fields, each followed by the
/// separator, then the value (`null` for a record without one).
fn print_record(out: &mut impl Write, record: &ConsumerRecord, format: &Format) -> io::Result<()> {
    let sep = &format.separator;
    if format.print_timestamp {
        write!(out, "Timestamp:{}{sep}", record.timestamp())?;
    }
    if format.print_partition {
        write!(out, "Partition:{}{sep}", record.partition())?;
    }
    if format.print_offset {
        write!(out, "Offset:{}{sep}", record.offset())?;
    }
    if format.print_key {
        write!(out, "{}{sep}", text(record.key()))?;
    }
    writeln!(out, "{}", text(record.value()))
}

fn text(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(
        || "null".to_string(),
        |b| String::from_utf8_lossy(b).into_owned(),
    )
}
