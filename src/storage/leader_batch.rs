//! What a leader checks and changes in a produced batch before appending
//! it: every record has a key on a compacted topic, and the batch is in the
//! codec the topic stores (`compression.type`).

use bytes::{Bytes, BytesMut};

use super::partition_log::PartitionLog;
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{recompress_batch, verify, BatchHeader, DecodedRecord, RecordBatch};
use crate::storage::AppendInfo;

impl PartitionLog {
    /// `batch` as this partition stores it: `None` when it is stored as it
    /// is, or the converted batch. Decodes the records only when keys must
    /// be checked or the codec differs from the stored one, so a batch
    /// already in the topic's codec is kept byte for byte.
    ///
    /// # Errors
    /// [`Error::KeylessRecordInCompactedTopic`] for a record without a key
    /// on a compacted topic; [`Error::InvalidBatch`] for bytes that do not
    /// decode.
    pub(crate) fn prepare_leader_batch(&self, batch: &[u8]) -> Result<Option<BytesMut>> {
        let header = BatchHeader::parse(batch).map_err(invalid)?;
        let config = self.config();
        let convert_to = config
            .stored_codec
            .filter(|codec| *codec != header.compression());
        if !config.requires_keys && convert_to.is_none() {
            return Ok(None);
        }
        let decoded = RecordBatch::new(Bytes::copy_from_slice(batch)).map_err(invalid)?;
        let records: Vec<DecodedRecord> = decoded
            .records()
            .collect::<std::result::Result<_, _>>()
            .map_err(invalid)?;
        if config.requires_keys && records.iter().any(|r| r.key.is_none()) {
            return Err(Error::KeylessRecordInCompactedTopic {
                topic: self.tp.topic().to_string(),
                partition: self.tp.partition(),
            });
        }
        Ok(convert_to.map(|codec| recompress_batch(&header, &records, codec)))
    }

    /// [`append_as_leader`](Self::append_as_leader) of a batch this process
    /// encoded itself (the embedded producer's, or the leader's own codec
    /// conversion), without a second CRC pass: its CRC was computed over
    /// these bytes in this address space, and the only later writes to them
    /// (base offset, leader epoch) lie outside it or recompute it
    /// (LogAppendTime, a producer identity). The header is still checked,
    /// and debug builds check the CRC too, so a producer bug shows in the
    /// tests. Bytes from outside the process go through `append_as_leader`.
    pub(crate) fn append_built_as_leader(
        &self,
        batch: &mut [u8],
        leader_epoch: i32,
    ) -> Result<AppendInfo> {
        debug_assert!(
            !matches!(verify(batch), Err(CorruptionKind::ChecksumMismatch { .. })),
            "an in-process batch with a bad CRC"
        );
        self.append_leader_batch(batch, leader_epoch, false, BatchHeader::parse)
    }
}

fn invalid(kind: CorruptionKind) -> Error {
    Error::InvalidBatch { position: 0, kind }
}
