//! librdkafka's errors as tidelog's: the codes with a tidelog counterpart
//! become that variant, the others `Error::Kafka`.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode as Code};

use crate::error::Error;

/// What an error was about, so a mapped variant can name it.
#[derive(Clone, Copy, Default)]
pub(crate) struct Subject<'a> {
    pub(crate) topic: Option<&'a str>,
    pub(crate) partition: Option<u32>,
    pub(crate) group: Option<&'a str>,
}

impl<'a> Subject<'a> {
    pub(crate) fn topic(topic: &'a str) -> Self {
        Subject {
            topic: Some(topic),
            ..Subject::default()
        }
    }

    pub(crate) fn group(group: &'a str) -> Self {
        Subject {
            group: Some(group),
            ..Subject::default()
        }
    }
}

/// `error`, from `op`, as a tidelog error.
pub(crate) fn kafka_error(op: &'static str, subject: Subject<'_>, error: &KafkaError) -> Error {
    match error.rdkafka_error_code() {
        Some(code) => code_error(op, subject, code, &error.to_string()),
        None => Error::Kafka {
            op,
            code: "client".to_string(),
            message: error.to_string(),
            retriable: false,
        },
    }
}

/// One error code, from `op`, as a tidelog error.
pub(crate) fn code_error(
    op: &'static str,
    subject: Subject<'_>,
    code: Code,
    message: &str,
) -> Error {
    let topic = subject.topic.unwrap_or_default().to_string();
    let group = subject.group.unwrap_or_default().to_string();
    match code {
        Code::UnknownTopicOrPartition | Code::UnknownTopic if subject.partition.is_none() => {
            Error::UnknownTopic(topic)
        }
        Code::TopicAlreadyExists => Error::TopicAlreadyExists(topic),
        Code::MessageTimedOut | Code::OperationTimedOut | Code::RequestTimedOut => Error::Timeout {
            op,
            timeout: Duration::ZERO,
        },
        Code::NotLeaderForPartition => Error::NotLeader {
            topic,
            partition: subject.partition.unwrap_or_default(),
        },
        Code::RebalanceInProgress => Error::RebalanceInProgress(group),
        Code::GroupIdNotFound => Error::UnknownGroup(group),
        Code::NonEmptyGroup => Error::GroupNotEmpty(group),
        _ => Error::Kafka {
            op,
            code: format!("{code:?}"),
            message: message.to_string(),
            retriable: retriable(code),
        },
    }
}

/// Kafka's retriable error codes (and librdkafka's transport ones).
fn retriable(code: Code) -> bool {
    matches!(
        code,
        Code::LeaderNotAvailable
            | Code::NotEnoughReplicas
            | Code::NotEnoughReplicasAfterAppend
            | Code::NotCoordinator
            | Code::CoordinatorNotAvailable
            | Code::CoordinatorLoadInProgress
            | Code::NetworkException
            | Code::BrokerTransportFailure
            | Code::AllBrokersDown
            | Code::Resolve
            | Code::UnknownLeaderEpoch
            | Code::FencedLeaderEpoch
            | Code::OffsetNotAvailable
    )
}
