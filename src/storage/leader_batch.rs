//! What a leader checks and changes in a produced batch before appending
//! it: every record has a key on a compacted topic, and the batch is in the
//! codec the topic stores (`compression.type`).

use bytes::{Bytes, BytesMut};

use super::partition_log::PartitionLog;
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{recompress_batch, BatchHeader, DecodedRecord, RecordBatch};

impl PartitionLog {
    /// `batch` as this partition stores it. Decodes the records only when
    /// keys must be checked or the codec differs from the stored one, so a
    /// batch already in the topic's codec is kept byte for byte.
    ///
    /// # Errors
    /// [`Error::KeylessRecordInCompactedTopic`] for a record without a key
    /// on a compacted topic; [`Error::InvalidBatch`] for bytes that do not
    /// decode.
    pub(crate) fn prepare_leader_batch(&self, batch: BytesMut) -> Result<BytesMut> {
        let header = BatchHeader::parse(&batch).map_err(invalid)?;
        let convert_to = self
            .config
            .stored_codec
            .filter(|codec| *codec != header.compression());
        if !self.config.requires_keys && convert_to.is_none() {
            return Ok(batch);
        }
        let decoded = RecordBatch::new(Bytes::copy_from_slice(&batch)).map_err(invalid)?;
        let records: Vec<DecodedRecord> = decoded
            .records()
            .collect::<std::result::Result<_, _>>()
            .map_err(invalid)?;
        if self.config.requires_keys && records.iter().any(|r| r.key.is_none()) {
            return Err(Error::KeylessRecordInCompactedTopic {
                topic: self.tp.topic().to_string(),
                partition: self.tp.partition(),
            });
        }
        Ok(match convert_to {
            Some(codec) => recompress_batch(&header, &records, codec),
            None => batch,
        })
    }
}

fn invalid(kind: CorruptionKind) -> Error {
    Error::InvalidBatch { position: 0, kind }
}
