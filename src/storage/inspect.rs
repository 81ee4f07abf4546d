//! Offline inspection of the on-disk format, in the spirit of Kafka's
//! `kafka-dump-log` tool: decode batches from bytes or a segment file, check
//! and repair a partition directory, and encode records into batch bytes
//! (for tools and tests that build segment files).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::partition_log::{now_ms, PartitionLog, PartitionLogConfig};
use crate::error::{CorruptionKind, Error, Result};
use crate::record::TimestampType;
use crate::record::{
    BatchBuilder, BatchIter, Compression, ConsumerRecord, ProducerRecord, ProducerStamp,
    RecordBatch,
};
use crate::topic::TopicPartition;

/// One record batch as found in a segment file or a byte buffer.
#[derive(Debug, Clone)]
pub struct BatchSummary {
    position: u64,
    size_in_bytes: u64,
    base_offset: u64,
    last_offset: u64,
    leader_epoch: i32,
    crc: u32,
    timestamp_type: TimestampType,
    compression: Compression,
    first_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    records: Vec<ConsumerRecord>,
}

impl BatchSummary {
    /// Byte position of the batch in the file or buffer.
    pub fn position(&self) -> u64 {
        self.position
    }
    /// Size of the whole batch, header included.
    pub fn size_in_bytes(&self) -> u64 {
        self.size_in_bytes
    }
    /// Offset of the first record.
    pub fn base_offset(&self) -> u64 {
        self.base_offset
    }
    /// Offset of the last record.
    pub fn last_offset(&self) -> u64 {
        self.last_offset
    }
    /// Epoch of the leader that appended the batch (-1 before any did).
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }
    /// The stored CRC-32 (verified).
    pub fn crc(&self) -> u32 {
        self.crc
    }
    /// Whether timestamps are the producer's or the broker's append time.
    pub fn timestamp_type(&self) -> TimestampType {
        self.timestamp_type
    }
    /// The codec the records are stored with (decoded transparently).
    pub fn compression(&self) -> Compression {
        self.compression
    }
    /// Timestamp of the first record (ms since the Unix epoch).
    pub fn first_timestamp(&self) -> i64 {
        self.first_timestamp
    }
    /// Largest timestamp in the batch (the append time under LogAppendTime).
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    /// Idempotent producer id, -1 if none.
    pub fn producer_id(&self) -> i64 {
        self.producer_id
    }
    /// Idempotent producer epoch, -1 if none.
    pub fn producer_epoch(&self) -> i16 {
        self.producer_epoch
    }
    /// Sequence number of the first record, -1 if none.
    pub fn base_sequence(&self) -> i32 {
        self.base_sequence
    }
    /// The decoded records. Raw bytes do not say which partition they came
    /// from, so each record's topic is empty and its partition 0.
    pub fn records(&self) -> &[ConsumerRecord] {
        &self.records
    }
}

/// Decodes a buffer of concatenated record batches (a segment file's
/// contents, or a fetch response), verifying every checksum and record.
///
/// # Examples
/// ```
/// use tidelog::inspect::{decode_batches, encode_batch};
/// use tidelog::ProducerRecord;
/// let bytes = encode_batch(&[ProducerRecord::new("t", "hello").timestamp(5)]);
/// let batches = decode_batches(&bytes)?;
/// assert_eq!(batches[0].records()[0].value(), Some(&b"hello"[..]));
/// # Ok::<(), tidelog::Error>(())
/// ```
///
/// # Errors
/// `Error::Corrupt` (with an empty path) at the first damaged batch or
/// record, with its byte position.
pub fn decode_batches(bytes: &[u8]) -> Result<Vec<BatchSummary>> {
    decode_chunk(Bytes::copy_from_slice(bytes), &PathBuf::new())
}

/// Reads and decodes a segment file (`<base offset>.log`).
///
/// A segment whose last batch was torn by a crash reports `Error::Corrupt`
/// at that batch; opening the partition (or [`recover_partition`]) cuts it.
///
/// # Examples
/// ```
/// use tidelog::inspect::{dump_segment, encode_batch};
/// use tidelog::ProducerRecord;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("00000000000000000000.log");
/// std::fs::write(&path, encode_batch(&[ProducerRecord::new("t", "x")]))?;
/// for batch in dump_segment(&path)? {
///     println!("offsets {}..={} at byte {}", batch.base_offset(), batch.last_offset(), batch.position());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// `Error::Io` if the file cannot be read; `Error::Corrupt` with the path and
/// position of the first damaged batch or record.
pub fn dump_segment(path: impl AsRef<Path>) -> Result<Vec<BatchSummary>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io("read segment", path, e))?;
    decode_chunk(Bytes::from(bytes), path)
}

fn decode_chunk(chunk: Bytes, path: &Path) -> Result<Vec<BatchSummary>> {
    let topic: Arc<str> = Arc::from("");
    let mut batches = BatchIter::new(chunk);
    let mut out = Vec::new();
    loop {
        let position = batches.position() as u64;
        let corrupt = |kind: CorruptionKind| Error::Corrupt {
            path: path.to_path_buf(),
            position,
            kind,
        };
        let Some(batch) = batches.next() else {
            return Ok(out);
        };
        let batch = batch.map_err(corrupt)?;
        out.push(summarise(&batch, position, &topic).map_err(corrupt)?);
    }
}

fn summarise(
    batch: &RecordBatch,
    position: u64,
    topic: &Arc<str>,
) -> std::result::Result<BatchSummary, CorruptionKind> {
    let header = batch.header();
    let mut records = Vec::with_capacity(usize::try_from(header.record_count).unwrap_or(0));
    for record in batch.records() {
        let record = record?;
        records.push(ConsumerRecord {
            topic: Arc::clone(topic),
            partition: 0,
            offset: u64::try_from(record.offset).unwrap_or(0),
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestamp_type: header.timestamp_type(),
            leader_epoch: header.leader_epoch,
        });
    }
    Ok(BatchSummary {
        position,
        size_in_bytes: header.size() as u64,
        base_offset: u64::try_from(header.base_offset).unwrap_or(0),
        last_offset: u64::try_from(header.last_offset()).unwrap_or(0),
        leader_epoch: header.leader_epoch,
        crc: header.crc,
        timestamp_type: header.timestamp_type(),
        compression: header.compression(),
        first_timestamp: header.first_timestamp,
        max_timestamp: header.max_timestamp,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        records,
    })
}

/// Encodes records into one batch, exactly as a producer would: base offset
/// 0 (a leader assigns real offsets on append), no leader epoch, no producer
/// id. A record without a timestamp gets the current time. The topic and
/// partition of each record are ignored. An empty slice gives empty bytes.
///
/// # Examples
/// ```
/// use tidelog::inspect::encode_batch;
/// use tidelog::ProducerRecord;
/// let bytes = encode_batch(&[ProducerRecord::new("t", "a"), ProducerRecord::new("t", "b")]);
/// assert_eq!(tidelog::inspect::decode_batches(&bytes)?[0].last_offset(), 1);
/// # Ok::<(), tidelog::Error>(())
/// ```
pub fn encode_batch(records: &[ProducerRecord]) -> Bytes {
    encode_compressed_batch(records, Compression::None)
}

/// Like [`encode_batch`], with the records compressed by `compression` in
/// Kafka's framing for that codec (a codec this build lacks leaves them
/// uncompressed).
///
/// # Examples
/// ```
/// use tidelog::inspect::{decode_batches, encode_compressed_batch};
/// use tidelog::{Compression, ProducerRecord};
/// let records = vec![ProducerRecord::new("t", "same value"); 100];
/// let bytes = encode_compressed_batch(&records, Compression::Lz4);
/// let batches = decode_batches(&bytes)?;
/// assert_eq!(batches[0].compression(), Compression::Lz4);
/// assert_eq!(batches[0].records().len(), 100);
/// # Ok::<(), tidelog::Error>(())
/// ```
pub fn encode_compressed_batch(records: &[ProducerRecord], compression: Compression) -> Bytes {
    if records.is_empty() {
        return Bytes::new();
    }
    let now = now_ms();
    let capacity = records
        .iter()
        .map(|r| BatchBuilder::record_size_bound(r.key.as_deref(), r.value.as_deref(), &r.headers))
        .sum::<usize>();
    let mut builder =
        BatchBuilder::new(capacity + crate::record::HEADER_LEN).compressed(compression);
    for r in records {
        builder.push(
            r.timestamp.unwrap_or(now),
            r.key.as_deref(),
            r.value.as_deref(),
            &r.headers,
        );
    }
    builder.finish(ProducerStamp::NONE).freeze()
}

/// What a partition directory holds after recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSummary {
    log_start_offset: u64,
    log_end_offset: u64,
    segment_count: usize,
    size_in_bytes: u64,
}

impl PartitionSummary {
    /// The first offset still readable.
    pub fn log_start_offset(&self) -> u64 {
        self.log_start_offset
    }
    /// The offset the next record would get.
    pub fn log_end_offset(&self) -> u64 {
        self.log_end_offset
    }
    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segment_count
    }
    /// Bytes of record batches across all segments.
    pub fn size_in_bytes(&self) -> u64 {
        self.size_in_bytes
    }
}

/// Checks and repairs one partition directory offline, exactly as opening
/// it does: verifies batches after the last clean shutdown or recovery
/// point, cuts a torn or corrupt tail (and any segment after it), rebuilds
/// missing or inconsistent indexes, then closes it cleanly.
///
/// This changes the directory. Never point it at a partition that a running
/// [`Log`](crate::Log) has open. Batches up to 1 MiB + 12 bytes are assumed
/// (Kafka's default `message.max.bytes`); recovery accepts larger ones up
/// to a sanity bound.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir()?;
/// let summary = tidelog::inspect::recover_partition(dir.path().join("orders-0"))?;
/// assert_eq!(summary.log_end_offset(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// `Error::Io` if a file cannot be read, written or fsynced.
pub fn recover_partition(dir: impl AsRef<Path>) -> Result<PartitionSummary> {
    let dir = dir.as_ref().to_path_buf();
    let name = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let log = PartitionLog::open(dir, TopicPartition::new(name, 0), offline_config())?;
    let summary = PartitionSummary {
        log_start_offset: log.log_start_offset(),
        log_end_offset: log.log_end_offset(),
        segment_count: log.segments.read().len(),
        size_in_bytes: log.size_in_bytes(),
    };
    log.close()?;
    Ok(summary)
}

fn offline_config() -> PartitionLogConfig {
    PartitionLogConfig {
        segment_bytes: 1 << 30,
        segment_ms: Duration::from_secs(7 * 24 * 3600),
        index_interval_bytes: 4096,
        max_message_bytes: 1_048_588,
        flush_messages: None,
        flush_ms: None,
        retention: None,
        retention_bytes: None,
        timestamp_type: TimestampType::CreateTime,
        stored_codec: None,
        requires_keys: false,
        compaction: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tests::{batch, config, open};

    #[test]
    fn a_segment_dumps_to_its_batches_and_recovers_its_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), config());
        log.append_as_leader(&mut batch("a", 2, 10), 3, false)
            .unwrap();
        log.append_as_leader(&mut batch("b", 1, 20), 3, false)
            .unwrap();
        drop(log);
        let segment = dir.path().join("00000000000000000000.log");
        let batches = dump_segment(&segment).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(
            (batches[1].base_offset(), batches[1].position()),
            (2, batches[0].size_in_bytes())
        );
        assert_eq!(batches[0].leader_epoch(), 3);
        assert_eq!(batches[0].records()[1].value().unwrap(), b"a-1");

        let mut bytes = std::fs::read(&segment).unwrap();
        bytes.truncate(bytes.len() - 1);
        std::fs::write(&segment, &bytes).unwrap();
        assert!(matches!(
            dump_segment(&segment),
            Err(Error::Corrupt { position, kind: CorruptionKind::Truncated, .. })
                if position == batches[1].position()
        ));
        let summary = recover_partition(dir.path()).unwrap();
        assert_eq!(
            (summary.log_start_offset(), summary.log_end_offset()),
            (0, 2)
        );
        assert_eq!(dump_segment(&segment).unwrap().len(), 1);
    }

    #[test]
    fn encode_then_decode_keeps_every_field() {
        let records = [
            ProducerRecord::new("t", "v")
                .key("k")
                .header("h", "x")
                .timestamp(9),
            ProducerRecord::tombstone("t").timestamp(11),
        ];
        let batches = decode_batches(&encode_batch(&records)).unwrap();
        let [only] = &batches[..] else {
            panic!("one batch")
        };
        assert_eq!((only.first_timestamp(), only.max_timestamp()), (9, 11));
        let decoded = only.records();
        assert_eq!(decoded[0].key().unwrap(), b"k");
        assert_eq!(decoded[0].headers()[0].name(), "h");
        assert_eq!(decoded[1].value(), None);
        assert!(encode_batch(&[]).is_empty());
        assert!(decode_batches(&[]).unwrap().is_empty());
    }
}
