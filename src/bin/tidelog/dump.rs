//! `tidelog dump-log`: decode segment files, like `kafka-dump-log`. It
//! reads the files only, so it works while a Log has the directory open.

use std::io::{self, BufWriter, Write};

use tidelog::inspect::{dump_segment, BatchSummary};

use crate::args::Args;
use crate::error::CliError;

const USAGE: &str = "\
usage: tidelog dump-log [--print-data-log] SEGMENT...   (or --files SEGMENT,SEGMENT)

Prints every record batch of each segment file (a partition directory's
*.log files): offsets, position, size, timestamps, producer id and CRC, each
checked. A damaged batch stops the file with the error and its position.

  --files F[,F...]     segment files, Kafka's spelling (positional files work too)
  --print-data-log     print every record too: offset, timestamp, key and value";

pub(crate) fn run(args: &mut Args) -> Result<(), CliError> {
    args.set_usage(USAGE);
    let (mut files, mut records) = (Vec::new(), false);
    while let Some(word) = args.next()? {
        match word.as_str() {
            "--print-data-log" => records = true,
            "--files" => files.extend(args.value(&word)?.split(',').map(str::to_string)),
            flag if flag.starts_with('-') => return Err(args.unknown(flag)),
            _ => files.push(word),
        }
    }
    if files.is_empty() {
        return Err(args.error("give at least one segment file"));
    }
    let mut out = BufWriter::new(io::stdout().lock());
    for file in &files {
        writeln!(out, "Dumping {file}")?;
        let batches = dump_segment(file)?;
        for batch in &batches {
            print_batch(&mut out, batch, records)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn print_batch(out: &mut impl Write, batch: &BatchSummary, records: bool) -> io::Result<()> {
    writeln!(
        out,
        "baseOffset: {} lastOffset: {} count: {} baseSequence: {} producerId: {} producerEpoch: {} \
         partitionLeaderEpoch: {} position: {} {:?}: {} size: {} crc: {}",
        batch.base_offset(),
        batch.last_offset(),
        batch.records().len(),
        batch.base_sequence(),
        batch.producer_id(),
        batch.producer_epoch(),
        batch.leader_epoch(),
        batch.position(),
        batch.timestamp_type(),
        batch.max_timestamp(),
        batch.size_in_bytes(),
        batch.crc(),
    )?;
    if records {
        for record in batch.records() {
            writeln!(
                out,
                "| offset: {} {:?}: {} key: {} payload: {}",
                record.offset(),
                batch.timestamp_type(),
                record.timestamp(),
                text(record.key()),
                text(record.value()),
            )?;
        }
    }
    Ok(())
}

fn text(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(
        || "null".to_string(),
        |b| String::from_utf8_lossy(b).into_owned(),
    )
}
