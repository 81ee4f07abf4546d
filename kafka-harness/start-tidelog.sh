#!/usr/bin/env bash
# Starts `tidelog serve` on OS-chosen loopback ports with its data in
# DIR/data, the same way start-kafka.sh starts Kafka, so the two can be
# measured alike. Returns once a metadata request lists every broker; prints
# the bootstrap address and leaves DIR/kafka.pid (stop-kafka.sh stops it),
# DIR/bootstrap, DIR/printed_ms (start to the address printed) and
# DIR/ready_ms (start to metadata answered).
#   usage: start-tidelog.sh DIR [BROKERS]
#   env:   TIDELOG_BIN (default target/release/tidelog, built with --features cli)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dir=${1:?usage: start-tidelog.sh DIR [BROKERS]}
brokers=${2:-3}
bin=${TIDELOG_BIN:-${CARGO_TARGET_DIR:-$HARNESS_DIR/../target}/release/tidelog}
[[ -x $bin ]] || die "$bin not found: cargo build --release --features cli --bin tidelog"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

start=$(now_ms)
"$bin" serve --dir "$dir/data" --listen 127.0.0.1:0 --brokers "$brokers" \
  >"$dir/serve.out" 2>"$dir/serve.log" &
pid=$!
echo "$pid" >"$dir/kafka.pid"
deadline=$((start + 30000))
fail() {
  cat "$dir/serve.log" >&2
  "$HARNESS_DIR/stop-kafka.sh" "$dir" || true
  die "$1"
}
until [[ -s $dir/serve.out ]]; do
  kill -0 "$pid" 2>/dev/null || fail "tidelog serve exited before printing its address"
  (($(now_ms) < deadline)) || fail "tidelog serve printed no address within 30 s"
  sleep 0.002
done
echo $(($(now_ms) - start)) >"$dir/printed_ms"
bootstrap=$(head -n 1 "$dir/serve.out")
until metadata_ok "$bootstrap" "$brokers"; do
  kill -0 "$pid" 2>/dev/null || fail "tidelog serve exited before it answered metadata"
  (($(now_ms) < deadline)) || fail "tidelog serve answered no metadata within 30 s"
  sleep 0.002
done
echo $(($(now_ms) - start)) >"$dir/ready_ms"
echo "$bootstrap" >"$dir/bootstrap"
echo "$bootstrap"
