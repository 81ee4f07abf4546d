//! The one table of supported APIs and versions: dispatch refuses what is
//! not in it, and ApiVersions reports exactly it.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

/// (API, lowest, highest version served). The caps stop where a version
/// needs topic ids or other state tidelog does not keep (Fetch 13 and
/// Produce 13 address topics by id); each is intersected with what the
/// codec crate knows.
const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 9),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeConfigs, 1, 4),
];

/// The versions of `key` served, if any.
pub(crate) fn range(key: ApiKey) -> Option<(i16, i16)> {
    let (_, min, max) = SUPPORTED.iter().find(|(k, _, _)| *k == key)?;
    let known = key.valid_versions();
    let (min, max) = ((*min).max(known.min), (*max).min(known.max));
    (min <= max).then_some((min, max))
}

/// Whether `key` at `version` is served.
pub(crate) fn supports(key: ApiKey, version: i16) -> bool {
    range(key).is_some_and(|(min, max)| (min..=max).contains(&version))
}

/// The ApiVersions answer, with `error_code` (0, or UNSUPPORTED_VERSION
/// when the client asked in a version not served).
pub(crate) fn api_versions(error_code: i16) -> ApiVersionsResponse {
    let api_keys = SUPPORTED
        .iter()
        .filter_map(|(key, _, _)| {
            let (min, max) = range(*key)?;
            Some(
                ApiVersion::default()
                    .with_api_key(*key as i16)
                    .with_min_version(min)
                    .with_max_version(max),
            )
        })
        .collect();
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(api_keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_api_has_versions_the_codec_knows() {
        for (key, _, _) in SUPPORTED {
            assert!(range(*key).is_some(), "{key:?}");
        }
        assert!(supports(ApiKey::Produce, 7));
        assert!(!supports(ApiKey::Fetch, 13));
        assert!(!supports(ApiKey::DescribeCluster, 0));
    }
}
