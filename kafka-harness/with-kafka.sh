#!/usr/bin/env bash
# Starts a throwaway single-node Apache Kafka, runs CMD with
# TIDELOG_KAFKA_BOOTSTRAP=127.0.0.1:PORT in its environment, and stops the
# broker by its pid whatever CMD's exit status; exits with CMD's status.
#   usage: with-kafka.sh CMD [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(($#)) || { echo "usage: with-kafka.sh CMD [ARGS...]" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/tidelog-kafka.XXXXXX")
cleanup() {
  "$here/stop-kafka.sh" "$dir" || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TIDELOG_KAFKA_BOOTSTRAP=$("$here/start-kafka.sh" "$dir")
export TIDELOG_KAFKA_BOOTSTRAP
echo "with-kafka.sh: Kafka ready at $TIDELOG_KAFKA_BOOTSTRAP in $(cat "$dir/ready_ms") ms" >&2
status=0
"$@" || status=$?
exit "$status"
