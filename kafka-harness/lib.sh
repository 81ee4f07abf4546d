# Shared settings for the Kafka harness scripts; sourced, not run.
# One pinned Kafka version; the jars live in a cache outside the repository.

KAFKA_VERSION=4.4.0
HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_CACHE=${TIDELOG_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tidelog-kafka}
KAFKA_LIBS=$KAFKA_CACHE/$KAFKA_VERSION/libs
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Milliseconds since the epoch (GNU date).
now_ms() { date +%s%3N; }

need_libs() {
  [[ -f $KAFKA_LIBS/.complete ]] || die "Kafka $KAFKA_VERSION jars missing: run kafka-harness/fetch.sh"
}

# Run one of Kafka's main classes with the cached jars. Tools get a small heap
# of their own; slf4j has no binding on this classpath, so they log nothing.
kafka_java() {
  need_libs
  "$JAVA" -Xmx512m -cp "$KAFKA_LIBS/*" "$@"
}

# A TCP port that is free on loopback right now (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# True once a metadata request to BOOTSTRAP lists BROKERS brokers. kcat polls
# cheaply; without it, Kafka's own topic tool answers (one JVM per try).
metadata_ok() { # bootstrap brokers
  if command -v kcat >/dev/null; then
    timeout 5 kcat -L -b "$1" -m 1 -q 2>/dev/null | grep -q "^ *$2 brokers:"
  else
    timeout 20 "$JAVA" -Xmx128m -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$1" --list >/dev/null 2>&1
  fi
}
