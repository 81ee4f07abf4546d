#!/usr/bin/env bash
# Stops the server that start-kafka.sh or start-tidelog.sh started from DIR,
# by its pid: SIGTERM (a controlled shutdown for Kafka, a clean close for
# tidelog), then SIGKILL if it is still there after 30 s.
#   usage: stop-kafka.sh DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dir=${1:?usage: stop-kafka.sh DIR}
[[ -f $dir/kafka.pid ]] || exit 0
pid=$(cat "$dir/kafka.pid")
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop-kafka.sh: server $pid ignored SIGTERM for 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
fi
rm -f "$dir/kafka.pid"
