#!/usr/bin/env bash
# A smoke check of a Kafka-speaking server with Kafka's own console tools:
# creates a topic, produces a few lines and reads them back in order.
#   usage: smoke.sh [BOOTSTRAP]   (default: $TIDELOG_KAFKA_BOOTSTRAP)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bootstrap=${1:-${TIDELOG_KAFKA_BOOTSTRAP:?usage: smoke.sh BOOTSTRAP}}
topic=smoke-$(date +%s)-$$
sent=$(printf 'record-%s\n' 1 2 3 4 5)

out=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
  --create --topic "$topic" --partitions 1 --replication-factor 1 2>&1) ||
  { printf '%s\n' "$out" >&2; die "creating topic $topic failed"; }
kafka_java org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$bootstrap" \
  --topic "$topic" --command-property acks=all <<<"$sent" 2>/dev/null
got=$(kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bootstrap" \
  --topic "$topic" --from-beginning --max-messages 5 --timeout-ms 30000 2>/dev/null)

if [[ $got != "$sent" ]]; then
  printf 'smoke.sh: sent:\n%s\nbut read back:\n%s\n' "$sent" "$got" >&2
  exit 1
fi
echo "smoke.sh: 5 records produced and consumed back in order on $bootstrap"
