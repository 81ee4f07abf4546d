#!/usr/bin/env bash
# Fetches Apache Kafka's broker (kafka_2.13) and tools (kafka-tools), one
# pinned version, with their runtime dependencies into the cache directory.
# A second run with a complete cache does nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [[ -f $KAFKA_LIBS/.complete ]]; then
  echo "Kafka $KAFKA_VERSION jars already in $KAFKA_LIBS"
  exit 0
fi
command -v mvn >/dev/null || die "mvn not found (Debian package: maven)"
rm -rf "$KAFKA_LIBS"
mkdir -p "$KAFKA_LIBS"
mvn -B -q -Dstyle.color=never -f "$HARNESS_DIR/pom.xml" \
  -Dkafka.version="$KAFKA_VERSION" \
  -Dmaven.repo.local="$KAFKA_CACHE/m2" \
  dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
# The marker is written last, so an interrupted fetch is redone.
touch "$KAFKA_LIBS/.complete"
echo "Kafka $KAFKA_VERSION jars in $KAFKA_LIBS ($(ls "$KAFKA_LIBS" | wc -l) files)"
