#!/usr/bin/env bash
# Starts a single-node Apache Kafka (KRaft: broker and controller in one JVM)
# on two free loopback ports, with its state in DIR, and returns once the
# broker answers a metadata request. Prints the bootstrap address; leaves
# DIR/kafka.pid, DIR/bootstrap and DIR/ready_ms (JVM start to ready).
#   usage: start-kafka.sh DIR [TIMEOUT_SECONDS]   (default 120, or $TIDELOG_KAFKA_START_TIMEOUT)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dir=${1:?usage: start-kafka.sh DIR [TIMEOUT_SECONDS]}
timeout_s=${2:-${TIDELOG_KAFKA_START_TIMEOUT:-120}}
need_libs
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[[ -f $dir/kafka.pid ]] && kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null &&
  die "a broker already runs from $dir (pid $(cat "$dir/kafka.pid"))"

port=$(free_port)
controller_port=$(free_port)
[[ $port != "$controller_port" ]] || controller_port=$(free_port)
bootstrap=127.0.0.1:$port

# Replication factors of 1 for the internal topics: there is one node.
cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://$bootstrap
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS

rm -rf "$dir/data"
cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null)
kafka_java kafka.tools.StorageTool format -t "$cluster_id" \
  -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
  { cat "$dir/format.log" >&2; die "formatting the storage directory failed"; }

start=$(now_ms)
"$JAVA" -Xms512m -Xmx512m -XX:+UseG1GC -cp "$KAFKA_LIBS/*" \
  kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/kafka.pid"
echo "$bootstrap" >"$dir/bootstrap"

deadline=$((start + timeout_s * 1000))
until metadata_ok "$bootstrap" 1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 30 "$dir/kafka.log" >&2
    rm -f "$dir/kafka.pid"
    die "the broker exited before it was ready"
  fi
  if (($(now_ms) > deadline)); then
    tail -n 30 "$dir/kafka.log" >&2
    "$(dirname "$0")/stop-kafka.sh" "$dir" || true
    die "the broker was not ready within ${timeout_s}s"
  fi
  sleep 0.05
done
echo $(($(now_ms) - start)) >"$dir/ready_ms"
echo "$bootstrap"
