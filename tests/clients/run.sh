#!/usr/bin/env bash
# Real Kafka clients against tidelog's listener (examples/kafka_serve):
# kcat, kafka-python and confluent-kafka. Each server listens on 127.0.0.1
# with OS-chosen ports and is stopped by its pid. Needs kcat and the two
# Python packages (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/clients
cargo build --quiet -p tidelog-examples --features kafka --example kafka_serve
serve_bin="${CARGO_TARGET_DIR:-target}/debug/examples/kafka_serve"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME DIR: runs a server on DIR; sets BOOTSTRAP and CONTROL (a fifo
# whose lines the server executes) and remembers its pid.
start() {
  local name=$1 dir=$2
  CONTROL="$work/$name.control"
  rm -f "$CONTROL" && mkfifo "$CONTROL"
  "$serve_bin" "$dir" <"$CONTROL" >"$work/$name.out" 2>&1 &
  pids+=($!)
  SERVER_PID=$!
  # Keep a writer open so the server's stdin stays open between commands.
  exec {CONTROL_FD}>"$CONTROL"
  for _ in $(seq 100); do
    grep -q '^bootstrap=' "$work/$name.out" && break
    sleep 0.1
  done
  BOOTSTRAP=$(sed -n 's/^bootstrap=//p' "$work/$name.out")
  [ -n "$BOOTSTRAP" ] || { cat "$work/$name.out"; exit 1; }
}

# stop: asks the server to quit and waits for it.
stop() {
  echo quit >&"$CONTROL_FD"
  exec {CONTROL_FD}>&-
  wait "$SERVER_PID"
}

passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAILED: $what"
    failed=$((failed + 1))
  fi
}

kcat_roundtrip() {
  local n=1000
  echo "create kc 3" >&"$CONTROL_FD"
  for _ in $(seq 100); do grep -q '^ok' "$work/kcat.out" && break; sleep 0.1; done
  seq 1 $n | awk '{ print "key-" ($1 % 10) ":value-" $1 }' |
    kcat -b "$BOOTSTRAP" -P -t kc -K: -X topic.partitioner=murmur2_random
  kcat -b "$BOOTSTRAP" -C -t kc -o beginning -e -q -f '%p %o %k %s\n' >"$work/kc.txt"
  [ "$(wc -l <"$work/kc.txt")" -eq $n ] || return 1
  # Every value once, and each key in exactly one partition.
  [ "$(cut -d' ' -f4 "$work/kc.txt" | sort -u | wc -l)" -eq $n ] || return 1
  [ "$(cut -d' ' -f1,3 "$work/kc.txt" | sort -u | wc -l)" -eq 10 ] || return 1
  [ "$(cut -d' ' -f1 "$work/kc.txt" | sort -u | wc -l)" -eq 3 ] || return 1
  # Offsets per partition run 0, 1, 2, ... in order.
  awk '{ if ($2 != next_[$1]++) exit 1 }' "$work/kc.txt"
}

kcat_lists_three_brokers() {
  kcat -b "$BOOTSTRAP" -L -t kc >"$work/kc-meta.txt"
  grep -q ' 3 brokers:' "$work/kc-meta.txt" &&
    grep -q 'partition 0, leader [0-2], replicas: ' "$work/kc-meta.txt"
}

start kcat "$work/kcat"
check "kcat -P then -C: 1000 keyed records with offsets and keys" kcat_roundtrip
check "kcat -L: three brokers and partition leaders" kcat_lists_three_brokers
stop

start py "$work/py"
check "kafka-python: acks=all producer" python3 $here/kafka_python_groups.py produce "$BOOTSTRAP" py 3000
check "kafka-python: two consumers of one group split the partitions" \
  python3 $here/kafka_python_groups.py split "$BOOTSTRAP" py 3000
stop
start py2 "$work/py"
check "kafka-python: commits survive a server restart" \
  python3 $here/kafka_python_groups.py resume "$BOOTSTRAP" py 3000 500
stop

start cf "$work/cf"
check "confluent-kafka: idempotent producer, leader killed, each acked record once" \
  python3 $here/confluent_failover.py "$BOOTSTRAP" "$CONTROL" cf 20000
stop

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
