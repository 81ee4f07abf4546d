//! Topic administration on the wire: CreateTopics, DeleteTopics and
//! DescribeConfigs (topics only), over the `Log`'s own topic calls.

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse,
};

use super::codes;
use super::conn::Ctx;
use super::data::{name, str_bytes};
use crate::config::{ConfigSource, TopicConfig};
use crate::error::Result;

/// DescribeConfigs resource type of a topic.
const TOPIC_RESOURCE: i8 = 2;

/// Kafka's DescribeConfigs source code of where a value comes from.
fn config_source(source: ConfigSource) -> i8 {
    match source {
        ConfigSource::TopicOverride => 1, // DYNAMIC_TOPIC_CONFIG
        ConfigSource::Broker => 4,        // STATIC_BROKER_CONFIG
        ConfigSource::Default => 5,       // DEFAULT_CONFIG
    }
}

fn topic_config(
    topic: &kafka_protocol::messages::create_topics_request::CreatableTopic,
) -> Result<TopicConfig> {
    let mut config = TopicConfig::new();
    // -1 means "the broker's default", as in Kafka.
    if let Ok(partitions) = u32::try_from(topic.num_partitions) {
        config = config.partitions(partitions);
    }
    if let Ok(replicas) = u32::try_from(topic.replication_factor) {
        config = config.replication_factor(replicas);
    }
    for entry in &topic.configs {
        if let Some(value) = &entry.value {
            config = config.set(entry.name.as_str(), value.as_str())?;
        }
    }
    Ok(config)
}

pub(crate) fn create_topics(ctx: &Ctx<'_>, request: CreateTopicsRequest) -> CreateTopicsResponse {
    let log = &ctx.shared.log;
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let result = CreatableTopicResult::default()
                .with_name(topic.name.clone())
                .with_num_partitions(topic.num_partitions)
                .with_replication_factor(topic.replication_factor);
            if !topic.assignments.is_empty() {
                return result
                    .with_error_code(codes::INVALID_REQUEST)
                    .with_error_message(Some(str_bytes(
                        "manual replica assignment is not supported",
                    )));
            }
            let created = topic_config(topic).and_then(|config| {
                if request.validate_only {
                    Ok(())
                } else {
                    log.create_topic(topic.name.0.as_str(), config).map(|_| ())
                }
            });
            match created {
                Ok(()) => {
                    let partitions = log
                        .topic(topic.name.0.as_str())
                        .map_or(topic.num_partitions, |t| {
                            i32::try_from(t.partition_count()).unwrap_or(i32::MAX)
                        });
                    result.with_num_partitions(partitions)
                }
                Err(e) => result
                    .with_error_code(match codes::of(&e) {
                        codes::UNKNOWN_SERVER_ERROR => codes::INVALID_REQUEST,
                        code => code,
                    })
                    .with_error_message(Some(str_bytes(&e.to_string()))),
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

pub(crate) fn delete_topics(ctx: &Ctx<'_>, request: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let mut names: Vec<String> = request
        .topic_names
        .iter()
        .map(|n| n.0.as_str().to_string())
        .collect();
    names.extend(
        request
            .topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.as_str().to_string())),
    );
    let responses = names
        .iter()
        .map(|topic| {
            let result = DeletableTopicResult::default().with_name(Some(name(topic)));
            match ctx.shared.log.delete_topic(topic) {
                Ok(()) => result,
                Err(e) => result
                    .with_error_code(codes::of(&e))
                    .with_error_message(Some(str_bytes(&e.to_string()))),
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

pub(crate) fn describe_configs(
    ctx: &Ctx<'_>,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            if resource.resource_type != TOPIC_RESOURCE {
                return result
                    .with_error_code(codes::INVALID_REQUEST)
                    .with_error_message(Some(str_bytes("only topic configs are described")));
            }
            let entries = match ctx
                .shared
                .log
                .core()
                .describe_topic_config(resource.resource_name.as_str())
            {
                Ok(entries) => entries,
                Err(e) => return result.with_error_code(codes::of(&e)),
            };
            let wanted = resource.configuration_keys;
            let configs = entries
                .iter()
                .filter(|entry| {
                    wanted
                        .as_ref()
                        .is_none_or(|w| w.iter().any(|k| k.as_str() == entry.name()))
                })
                .map(|entry| {
                    DescribeConfigsResourceResult::default()
                        .with_name(str_bytes(entry.name()))
                        .with_value(Some(str_bytes(entry.value())))
                        .with_config_source(config_source(entry.source()))
                })
                .collect();
            result.with_configs(configs)
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}
