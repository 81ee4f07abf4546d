//! Cluster metadata: topics, replica assignments, leaders, ISRs and epochs,
//! and its text encoding (the file itself is read and written by the runtime).
//!
//! Encoded (as `cluster-metadata` in the log directory) it is a small text file,
//! one fact per line, ending in a CRC-32 of everything before it:
//!
//! ```text
//! tidelog-cluster-metadata 2
//! next-producer-id 12
//! placements 6
//! topic orders 3 partitions=3;retention.ms=60000
//! partition orders 0 leader=1 leader-epoch=4 partition-epoch=7 replicas=1,2,0 isr=1,2
//! crc 5d1e0c3a
//! ```

use std::collections::BTreeMap;

use super::leader::BrokerId;
use crate::config::TopicConfig;
use crate::error::CorruptionKind;

/// The on-disk format version of the whole data directory. 2: record batches
/// carry Kafka's CRC-32C (version 1 used CRC-32/IEEE).
pub(crate) const FORMAT_VERSION: u32 = 2;
pub(crate) const HEADER_WORD: &str = "tidelog-cluster-metadata";
const HEADER: &str = "tidelog-cluster-metadata 2";

/// Where one partition's replicas are and who leads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionState {
    /// Assigned replicas; the first is the preferred leader.
    pub(crate) replicas: Vec<BrokerId>,
    /// `None` while the partition is offline.
    pub(crate) leader: Option<BrokerId>,
    pub(crate) isr: Vec<BrokerId>,
    /// Bumped on every leader change; stamped into every batch written.
    pub(crate) leader_epoch: i32,
    /// Bumped on every change of leader or ISR.
    pub(crate) partition_epoch: i32,
}

/// One topic: its own settings and its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicState {
    pub(crate) config: TopicConfig,
    pub(crate) partitions: Vec<PartitionState>,
}

/// Everything the controller persists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ClusterMetadata {
    pub(crate) topics: BTreeMap<String, TopicState>,
    pub(crate) next_producer_id: i64,
    /// Partitions placed so far: seeds where the next topic's placement starts.
    pub(crate) placements: u64,
}

impl ClusterMetadata {
    #[cfg(test)]
    pub(crate) fn partition(&self, topic: &str, partition: u32) -> Option<&PartitionState> {
        self.topics
            .get(topic)
            .and_then(|t| t.partitions.get(partition as usize))
    }

    pub(crate) fn partition_mut(
        &mut self,
        topic: &str,
        partition: u32,
    ) -> Option<&mut PartitionState> {
        self.topics
            .get_mut(topic)
            .and_then(|t| t.partitions.get_mut(partition as usize))
    }

    pub(crate) fn encode(&self) -> String {
        let mut out = format!(
            "{HEADER}\nnext-producer-id {}\nplacements {}\n",
            self.next_producer_id, self.placements
        );
        for (name, topic) in &self.topics {
            let properties = topic.config.to_properties();
            let config = properties.lines().collect::<Vec<_>>().join(";");
            out.push_str(&format!(
                "topic {name} {} {config}\n",
                topic.partitions.len()
            ));
        }
        for (name, topic) in &self.topics {
            for (p, s) in topic.partitions.iter().enumerate() {
                out.push_str(&format!(
                    "partition {name} {p} leader={} leader-epoch={} partition-epoch={} replicas={} isr={}\n",
                    s.leader.map_or(-1, i64::from),
                    s.leader_epoch,
                    s.partition_epoch,
                    join(&s.replicas),
                    join(&s.isr),
                ));
            }
        }
        let crc = crc32fast::hash(out.as_bytes());
        out.push_str(&format!("crc {crc:08x}\n"));
        out
    }
}

fn join(ids: &[BrokerId]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

type Parse<T> = std::result::Result<T, (u64, CorruptionKind)>;

fn bad<T>(at: usize, what: &'static str) -> Parse<T> {
    Err((
        u64::try_from(at).unwrap_or(0),
        CorruptionKind::Malformed(what),
    ))
}

pub(crate) fn decode(bytes: &[u8]) -> Parse<ClusterMetadata> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bad(0, "cluster metadata is not text");
    };
    let Some(crc_at) = text.trim_end().rfind("crc ") else {
        return Err((0, CorruptionKind::Truncated));
    };
    let (body, crc_line) = text.split_at(crc_at);
    let stored = u32::from_str_radix(crc_line.trim_start_matches("crc ").trim(), 16);
    let actual = crc32fast::hash(body.as_bytes());
    match stored {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            let kind = CorruptionKind::ChecksumMismatch { expected, actual };
            return Err((u64::try_from(crc_at).unwrap_or(0), kind));
        }
        Err(_) => return bad(crc_at, "bad crc line"),
    }
    let mut meta = ClusterMetadata::default();
    let mut lines = body.lines();
    if lines.next() != Some(HEADER) {
        return bad(0, "unknown cluster metadata version");
    }
    let mut at = HEADER.len() + 1;
    for line in lines {
        parse_line(&mut meta, line).or_else(|what| bad(at, what))?;
        at += line.len() + 1;
    }
    for topic in meta.topics.values() {
        if topic.partitions.iter().any(|p| p.replicas.is_empty()) {
            return bad(0, "a partition has no replica assignment");
        }
    }
    Ok(meta)
}

fn parse_line(meta: &mut ClusterMetadata, line: &str) -> std::result::Result<(), &'static str> {
    let mut words = line.split(' ');
    match words.next() {
        Some("next-producer-id") => meta.next_producer_id = number(words.next())?,
        Some("placements") => meta.placements = number(words.next())?,
        Some("topic") => {
            let name = words.next().ok_or("topic line without name")?;
            let count: usize = number(words.next())?;
            let config = words.next().unwrap_or("").replace(';', "\n");
            let config = TopicConfig::from_properties(&config).map_err(|_| "bad topic config")?;
            let empty = PartitionState {
                replicas: Vec::new(),
                leader: None,
                isr: Vec::new(),
                leader_epoch: 0,
                partition_epoch: 0,
            };
            let partitions = vec![empty; count.min(1 << 20)];
            meta.topics
                .insert(name.to_string(), TopicState { config, partitions });
        }
        Some("partition") => {
            let name = words.next().ok_or("partition line without topic")?;
            let p: u32 = number(words.next())?;
            let state = meta
                .partition_mut(name, p)
                .ok_or("partition of unknown topic")?;
            for field in words {
                let (key, value) = field.split_once('=').ok_or("partition field without =")?;
                match key {
                    "leader" => {
                        let leader: i64 = number(Some(value))?;
                        state.leader = u32::try_from(leader).ok();
                    }
                    "leader-epoch" => state.leader_epoch = number(Some(value))?,
                    "partition-epoch" => state.partition_epoch = number(Some(value))?,
                    "replicas" => state.replicas = ids(value)?,
                    "isr" => state.isr = ids(value)?,
                    _ => return Err("unknown partition field"),
                }
            }
        }
        Some("") | None => {}
        Some(_) => return Err("unknown line"),
    }
    Ok(())
}

fn number<N: std::str::FromStr>(word: Option<&str>) -> std::result::Result<N, &'static str> {
    word.and_then(|w| w.parse().ok()).ok_or("bad number")
}

fn ids(list: &str) -> std::result::Result<Vec<BrokerId>, &'static str> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    list.split(',').map(|w| number(Some(w))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ClusterMetadata {
        let mut meta = ClusterMetadata {
            next_producer_id: 12,
            placements: 4,
            ..ClusterMetadata::default()
        };
        let config = TopicConfig::new()
            .partitions(2)
            .set("retention.ms", "60000")
            .unwrap();
        let partitions = vec![
            PartitionState {
                replicas: vec![1, 2, 0],
                leader: Some(1),
                isr: vec![1, 2],
                leader_epoch: 4,
                partition_epoch: 7,
            },
            PartitionState {
                replicas: vec![2, 0, 1],
                leader: None,
                isr: vec![2],
                leader_epoch: 9,
                partition_epoch: 9,
            },
        ];
        meta.topics
            .insert("orders".into(), TopicState { config, partitions });
        meta
    }

    #[test]
    fn metadata_round_trips_through_its_encoding() {
        let meta = sample();
        assert_eq!(decode(meta.encode().as_bytes()).unwrap(), meta);
        let empty = ClusterMetadata::default();
        assert_eq!(decode(empty.encode().as_bytes()).unwrap(), empty);
    }

    #[test]
    fn any_damage_is_reported_as_corruption() {
        let text = sample().encode();
        let flipped = text.replacen("leader=1", "leader=2", 1);
        let cut = &text[..text.len() / 2];
        for bad in [flipped.as_str(), cut, "", "garbage\ncrc 00000000\n"] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
