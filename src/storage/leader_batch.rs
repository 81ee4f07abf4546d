//! What a leader checks and changes in a produced batch before appending
//! it: every record has a key on a compacted topic, and the batch is in the
//! codec the topic stores (`compression.type`).

use bytes::{Bytes, BytesMut};

use super::partition_log::PartitionLog;
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{recompress_batch, BatchHeader, DecodedRecord, RecordBatch};

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
}

fn invalid(kind: CorruptionKind) -> Error {
    Error::InvalidBatch { position: 0, kind }
}
