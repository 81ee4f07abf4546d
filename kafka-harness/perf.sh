#!/usr/bin/env bash
# Runs Kafka's own perf tools against any Kafka-speaking server: for acks=1
# and acks=all, ProducerPerformance writes RECORDS records of 100 bytes (no
# throttle) into a fresh topic, then ConsumerPerformance reads RECORDS back in
# a fresh group. RUNS rounds; prints each run and the medians in records/s.
#   usage: perf.sh BOOTSTRAP            (e.g. 127.0.0.1:9092)
#   env:   RECORDS (2000000) RUNS (3) PARTITIONS (3) RECORD_SIZE (100)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bootstrap=${1:?usage: perf.sh BOOTSTRAP}
records=${RECORDS:-2000000}
runs=${RUNS:-3}
partitions=${PARTITIONS:-3}
record_size=${RECORD_SIZE:-100}
need_libs
tag=perf-$(date +%s)-$$

create_topic() {
  local out
  out=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --create --topic "$1" --partitions "$partitions" --replication-factor 1 2>&1) ||
    { printf '%s\n' "$out" >&2; die "creating topic $1 failed"; }
}

# ProducerPerformance's closing line: "N records sent, R records/sec (...)".
produce() { # topic acks
  kafka_java org.apache.kafka.tools.ProducerPerformance --bootstrap-server "$bootstrap" \
    --topic "$1" --num-records "$records" --record-size "$record_size" --throughput -1 \
    --reporting-interval 600000 --command-property acks="$2" 2>/dev/null |
    awk '/records sent/ { printf "%d\n", $4 }' | tail -n 1
}

# ConsumerPerformance's data line: field 6 is records/s over the whole run
# (group join included), field 10 the same over fetch time only.
consume() { # topic group
  kafka_java org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$bootstrap" \
    --topic "$1" --group "$2" --num-records "$records" --timeout 30000 --hide-header 2>/dev/null |
    awk -F', *' 'NF >= 10 { printf "%d %d\n", $6, $10 }' | tail -n 1
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }

declare -A results
for acks in 1 all; do
  create_topic "$tag-acks$acks"
done
for run in $(seq "$runs"); do
  for acks in 1 all; do
    rate=$(produce "$tag-acks$acks" "$acks")
    [[ -n $rate ]] || die "ProducerPerformance (acks=$acks) printed no result"
    echo "run $run: ProducerPerformance acks=$acks: $rate records/s"
    results[produce_$acks]+="$rate "
  done
  read -r total fetch < <(consume "$tag-acks1" "$tag-group$run") ||
    die "ConsumerPerformance printed no result"
  echo "run $run: ConsumerPerformance: $total records/s ($fetch records/s fetch time only)"
  results[consume]+="$total "
  results[fetch]+="$fetch "
done

echo "medians of $runs runs, $records records of $record_size B, $partitions partitions, $bootstrap:"
for key in produce_1 produce_all consume fetch; do
  printf '  %-12s %s records/s\n' "$key" "$(tr ' ' '\n' <<<"${results[$key]}" | grep . | median)"
done
