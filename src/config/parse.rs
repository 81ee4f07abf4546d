//! Parsing Kafka-style string values into typed ones, with errors that name the key.

use std::time::Duration;

use super::topic::TopicCompression;
use crate::error::{Error, Result};
use crate::record::Compression;

pub(crate) fn u64_value(key: &str, value: &str) -> Result<u64> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| Error::config(key, value, "expected a non-negative whole number"))
}

pub(crate) fn positive_u64(key: &str, value: &str) -> Result<u64> {
    match u64_value(key, value)? {
        0 => Err(Error::config(key, value, "must be at least 1")),
        n => Ok(n),
    }
}

pub(crate) fn positive_u32(key: &str, value: &str) -> Result<u32> {
    let n = positive_u64(key, value)?;
    u32::try_from(n).map_err(|_| Error::config(key, value, "too large"))
}

/// A size in bytes that must fit in `u32` (record-size limits).
pub(crate) fn size_u32(key: &str, value: &str) -> Result<u32> {
    positive_u32(key, value)
}

pub(crate) fn bool_value(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::config(key, value, "expected true or false")),
    }
}

/// Milliseconds, scaled by `unit_ms` (1 for `.ms`, 60 000 for `.minutes`...).
pub(crate) fn duration(key: &str, value: &str, unit_ms: u64) -> Result<Duration> {
    let n = u64_value(key, value)?;
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| Error::config(key, value, "too large"))
}

/// Like [`duration`], but `-1` means unlimited (`None`), as Kafka's retention keys do.
pub(crate) fn optional_duration(key: &str, value: &str, unit_ms: u64) -> Result<Option<Duration>> {
    if value.trim() == "-1" {
        return Ok(None);
    }
    duration(key, value, unit_ms).map(Some)
}

/// A byte count where `-1` means unlimited (`None`).
pub(crate) fn optional_u64(key: &str, value: &str) -> Result<Option<u64>> {
    if value.trim() == "-1" {
        return Ok(None);
    }
    u64_value(key, value).map(Some)
}

pub(crate) fn non_empty(key: &str, value: &str) -> Result<String> {
    if value.trim().is_empty() {
        return Err(Error::config(key, value, "must not be empty"));
    }
    Ok(value.trim().to_string())
}

/// A duration as Kafka writes it, in milliseconds.
pub(crate) fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

/// An optional duration where `None` (unlimited) is written `-1`.
pub(crate) fn optional_ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-1".to_string(), ms)
}

/// An optional count where `None` (unlimited) is written `-1`.
pub(crate) fn optional_count(n: Option<u64>) -> String {
    n.map_or_else(|| "-1".to_string(), |n| n.to_string())
}

/// A producer's `compression.type`: `none` or a codec this build has.
pub(crate) fn producer_compression(key: &str, value: &str) -> Result<Compression> {
    let name = value.trim().to_ascii_lowercase();
    match Compression::from_name(&name) {
        Some(codec) => available(key, value, codec),
        None => Err(Error::config(
            key,
            value,
            "expected none, gzip, snappy, lz4 or zstd",
        )),
    }
}

/// A topic's or broker's `compression.type`: `producer`, `uncompressed`
/// (or `none`), or a codec this build has.
pub(crate) fn topic_compression(key: &str, value: &str) -> Result<TopicCompression> {
    let name = value.trim().to_ascii_lowercase();
    match name.as_str() {
        "producer" => Ok(TopicCompression::Producer),
        "uncompressed" | "none" => Ok(TopicCompression::Uncompressed),
        _ => match Compression::from_name(&name) {
            Some(codec) => available(key, value, codec).map(TopicCompression::Codec),
            None => Err(Error::config(
                key,
                value,
                "expected producer, uncompressed, gzip, snappy, lz4 or zstd",
            )),
        },
    }
}

/// `codec` if this build can use it; otherwise an error naming the cargo
/// feature that adds it.
pub(crate) fn available(key: &str, value: &str, codec: Compression) -> Result<Compression> {
    if codec.is_available() {
        return Ok(codec);
    }
    Err(Error::config(
        key,
        value,
        format!("the {codec} codec is not compiled in; enable tidelog's \"{codec}\" cargo feature"),
    ))
}

/// A ratio between 0 and 1 (`min.cleanable.dirty.ratio`), held in parts
/// per million so configs stay comparable with `Eq`.
pub(crate) fn ratio_ppm(key: &str, value: &str) -> Result<u32> {
    match value.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok((r * 1e6).round() as u32),
        _ => Err(Error::config(key, value, "expected a number from 0 to 1")),
    }
}

/// A ratio held in parts per million, as Kafka writes it.
pub(crate) fn ppm_ratio(ppm: u32) -> String {
    (f64::from(ppm) / 1e6).to_string()
}
